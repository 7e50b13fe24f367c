"""LinkedIn's OAuth side: the authorization-code flow through the gateway, the calls to
LinkedIn's OAuth endpoints, id_token verification and the ``oauth:`` settings."""
