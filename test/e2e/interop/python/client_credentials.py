"""client_credentials with tls_client_auth (RFC 8705 §2.1) through Authlib's requests OAuth2Session.

Usage: client_credentials.py ISSUER CLIENT_ID CA_FILE [CERT_FILE KEY_FILE]
Discovers the issuer, takes the token endpoint from mtls_endpoint_aliases, presents the client
certificate (when given) and prints the token response as JSON. An OAuth error is printed as JSON
and exits 1.
"""

import json
import sys

import requests
from authlib.common.urls import add_params_to_qs
from authlib.integrations.requests_client import OAuth2Session, OAuthError


def tls_client_auth(client, method, uri, headers, body):
    """The certificate on the TLS connection authenticates; the body names the client."""
    body = add_params_to_qs(body or "", [("client_id", client.client_id)])
    headers["Content-Length"] = str(len(body))
    return uri, headers, body


def main(argv):
    if len(argv) not in (4, 6):
        print(__doc__, file=sys.stderr)
        return 2
    issuer, client_id, ca_file = argv[1:4]
    metadata = requests.get(issuer.rstrip("/") + "/.well-known/openid-configuration", timeout=30).json()
    if metadata.get("issuer") != issuer:
        print(f"discovery issuer {metadata.get('issuer')!r} is not {issuer!r}", file=sys.stderr)
        return 1
    token_endpoint = metadata["mtls_endpoint_aliases"]["token_endpoint"]
    session = OAuth2Session(client_id, token_endpoint_auth_method="tls_client_auth")
    session.register_client_auth_method(("tls_client_auth", tls_client_auth))
    # Passed per request: requests lets REQUESTS_CA_BUNDLE override a session-wide `verify`.
    tls = {"verify": ca_file, "cert": (argv[4], argv[5]) if len(argv) == 6 else None}
    try:
        token = session.fetch_token(token_endpoint, grant_type="client_credentials", **tls)
    except OAuthError as err:
        print(json.dumps({"error": err.error, "error_description": err.description}))
        return 1
    print(json.dumps({**token, "token_endpoint": token_endpoint}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
