# Gatehouse SSH logins: a pam_python module (Debian: libpam-python, /lib/security/pam_python.so)
# that signs a Unix user in through Gatehouse's device authorization grant (RFC 8628).
#
#   auth required /lib/security/pam_python.so /usr/local/lib/gatehouse/gatehouse_pam.py config=/etc/gatehouse/pam.conf
#
# The first (and only) keyboard-interactive prompt carries the link (verification_uri_complete), the
# user code and a terminal QR code: OpenSSH holds PAM info messages back until a prompt is shown
# (OpenSSH bug 2876), so they travel in the prompt itself. After Enter the module polls the token
# endpoint at `interval`, backing off on `slow_down` (RFC 8628 §3.5), checks the ID token with PyJWT
# (signature against the issuer's JWKS with an asymmetric algorithm discovery lists, iss, aud, azp,
# exp, iat) and succeeds only when the configured claim equals the PAM user. Every error fails closed
# with one readable line.
#
# Needs Debian's python3-jwt and python3-cryptography (the ID token check), and python3-qrcode for
# the QR code (optional: without it the link and code are still shown). Licence: that of the
# Gatehouse repository.
import base64
import json
import os
import pwd
import ssl
import stat
import syslog
import time
import urllib.error
import urllib.parse
import urllib.request

try:  # Debian's python3-jwt (PyJWT) and python3-cryptography; without them every login fails closed.
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
except ImportError:
    jwt = None

DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'
MAX_BODY = 1024 * 1024
LOOPBACK_HOSTS = ('127.0.0.1', '::1', 'localhost')
DEFAULTS = {
    'scope': 'openid profile groups posix',
    'claim': 'preferred_username',
    'group': '',
    'mfa': 'no',
    'mfa_acr': 'urn:gatehouse:mfa',
    'ca_file': '',
    'timeout': '100',
    'qr': 'yes',
}
CLAIMS = ('preferred_username', 'uid_number')
# Public-key JWS algorithms (RFC 7518 §3.1, RFC 8037) and the curve each EC one names; never none or HS*.
ASYMMETRIC = ('RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA')
EC_CURVES = {'ES256': 'secp256r1', 'ES384': 'secp384r1', 'ES512': 'secp521r1'}
# Seconds of leeway for exp and iat: hosts' clocks drift.
CLOCK_SKEW = 60


class Refused(Exception):
    """A login that must fail; the message is shown to the person and logged."""


def read_config(path):
    """`key = value` lines; `#` starts a comment. Unknown keys are refused (a typo must not weaken a check)."""
    config = dict(DEFAULTS)
    try:
        with open(path, encoding='utf-8') as f:
            # Whoever can change it can name their own issuer and log in as anyone (sshd's StrictModes idea).
            for what, st in (('', os.fstat(f.fileno())), (' directory', os.stat(os.path.dirname(os.path.abspath(path))))):
                if st.st_uid != 0 or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                    raise Refused(f'the Gatehouse PAM configuration{what} of {path} must belong to root and not be writable by others (chmod {"755" if what else "644"})')
            lines = f.read().splitlines()
    except OSError as e:
        raise Refused(f'cannot read the Gatehouse PAM configuration {path}: {e.strerror}')
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        key, sep, value = line.partition('=')
        key, value = key.strip(), value.strip()
        if not sep or key not in DEFAULTS and key not in ('issuer', 'client_id', 'client_secret_file'):
            raise Refused(f'{path} line {n}: unknown setting "{key}"')
        config[key] = value
    for key in ('issuer', 'client_id', 'client_secret_file'):
        if not config.get(key):
            raise Refused(f'{path}: "{key}" is required')
    if config['claim'] not in CLAIMS:
        raise Refused(f'{path}: claim must be one of {", ".join(CLAIMS)}')
    if config['mfa'] not in ('yes', 'no') or config['qr'] not in ('yes', 'no'):
        raise Refused(f'{path}: mfa and qr are "yes" or "no"')
    if not config['timeout'].isdigit() or not 10 <= int(config['timeout']) <= 600:
        raise Refused(f'{path}: timeout is a number of seconds between 10 and 600')
    if not secure_url(config['issuer']):
        raise Refused(f'{path}: issuer must be an https URL (http only on a loopback address)')
    config['issuer'] = config['issuer'].rstrip('/')
    return config


def read_secret(path):
    """The client secret, from a file only root can read."""
    try:
        st = os.stat(path)
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO) or st.st_uid != 0:
            raise Refused(f'the client secret file {path} must belong to root and not be readable by others (chmod 600)')
        with open(path, encoding='utf-8') as f:
            secret = f.read().strip()
    except OSError as e:
        raise Refused(f'cannot read the client secret file {path}: {e.strerror}')
    if not secret:
        raise Refused(f'the client secret file {path} is empty')
    return secret


def secure_url(url):
    """https, or http on a loopback address: where the client secret may go."""
    parts = urllib.parse.urlsplit(url)
    return parts.scheme == 'https' or (parts.scheme == 'http' and parts.hostname in LOOPBACK_HOSTS)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """urllib would follow a 30x with the Authorization header (the client secret) copied to
    wherever it points, plain http or another host included: a redirect is answered as it is."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class Http:
    """JSON over HTTPS (or loopback HTTP) with the configured CA, no proxies from the environment, no redirects."""

    def __init__(self, config, deadline):
        context = ssl.create_default_context(cafile=config['ca_file'] or None)
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context), _NoRedirect())
        self.deadline = deadline
        self.auth = 'Basic ' + base64.b64encode(
            f"{urllib.parse.quote(config['client_id'], safe='')}:{urllib.parse.quote(config['secret'], safe='')}".encode()
        ).decode()

    def call(self, url, form=None):
        """Returns (status, JSON object). Network trouble and non-JSON answers are Refused."""
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        headers = {'Accept': 'application/json'}
        if form is not None:
            headers['Authorization'] = self.auth
        request = urllib.request.Request(url, data=data, headers=headers)
        timeout = max(1.0, min(15.0, self.deadline - time.monotonic()))
        try:
            with self.opener.open(request, timeout=timeout) as res:
                status, body = res.status, res.read(MAX_BODY + 1)
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read(MAX_BODY + 1)
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, 'reason', e)
            raise Refused(f'cannot reach Gatehouse at {urllib.parse.urlsplit(url).netloc}: {reason}')
        if 300 <= status < 400:
            raise Refused(f'Gatehouse answered with a redirect ({status}) from {safe(url)}: is the issuer URL exactly Gatehouse\'s?')
        if len(body) > MAX_BODY:
            raise Refused('Gatehouse sent an oversized answer')
        try:
            value = json.loads(body)
        except ValueError:
            raise Refused(f'Gatehouse answered {status} without JSON')
        if not isinstance(value, dict):
            raise Refused('Gatehouse sent an unexpected answer')
        return status, value


def _algorithm_key_ok(alg, key):
    """The key fits `alg` and is strong enough: RSA of 2048 bits or more with e = 65537 (as Gatehouse
    makes them; a low exponent is where RSA signature forgeries live), an EC key on the curve the
    algorithm names (RFC 7518 §3.4), an Ed25519 key for EdDSA (RFC 8037)."""
    if alg[:2] in ('RS', 'PS'):
        return isinstance(key, rsa.RSAPublicKey) and key.key_size >= 2048 and key.public_numbers().e == 65537
    if alg in EC_CURVES:
        return isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == EC_CURVES[alg]
    return alg == 'EdDSA' and isinstance(key, ed25519.Ed25519PublicKey)


def accepted_algorithms(metadata):
    """The asymmetric algorithms the issuer's discovery lists for ID tokens (never `none` or HMAC)."""
    listed = metadata.get('id_token_signing_alg_values_supported', ['RS256'])
    return [a for a in listed if a in ASYMMETRIC] if isinstance(listed, list) else []


def verify_id_token(id_token, config, metadata, http):
    """The ID token's claims after PyJWT has checked its signature with the issuer's key (by kid,
    an asymmetric algorithm discovery lists), iss, aud, exp and iat (with CLOCK_SKEW of leeway),
    and this module azp (OIDC Core §3.1.3.7). Anything else is Refused."""
    if jwt is None:
        raise Refused('this host lacks python3-jwt and python3-cryptography (apt-get install python3-jwt python3-cryptography)')
    allowed = accepted_algorithms(metadata)
    if not allowed:
        raise Refused('Gatehouse lists no public-key algorithm for ID tokens')
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.PyJWTError:
        raise Refused('Gatehouse sent a malformed ID token')
    alg, kid = header.get('alg'), header.get('kid')
    if alg not in allowed:
        raise Refused(f'the ID token is signed with {safe(alg, 20)!r}; this host accepts {", ".join(allowed)}')
    _, jwks = http.call(metadata['jwks_uri'])
    keys = []
    for jwk in jwks.get('keys', []) if isinstance(jwks.get('keys'), list) else []:
        if not isinstance(jwk, dict) or jwk.get('use', 'sig') != 'sig' or jwk.get('alg', alg) != alg:
            continue
        if kid is not None and jwk.get('kid') != kid:
            continue
        try:
            key = jwt.PyJWK(jwk, alg).key
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            continue
        if _algorithm_key_ok(alg, key):
            keys.append(key)
    if not keys:
        raise Refused(f'the issuer publishes no usable {alg} key for this ID token')
    claims = None
    for key in keys:
        try:
            claims = jwt.decode(id_token, key, algorithms=[alg], audience=config['client_id'], issuer=config['issuer'],
                                leeway=CLOCK_SKEW, options={'require': ['iss', 'aud', 'exp', 'iat', 'sub']})
            break
        except jwt.InvalidSignatureError:
            continue
        except jwt.ExpiredSignatureError:
            raise Refused('the ID token has expired (is this host\'s clock right?)')
        except jwt.ImmatureSignatureError:
            raise Refused('the ID token was issued in the future (is this host\'s clock right?)')
        except jwt.InvalidIssuerError:
            raise Refused('the ID token comes from another issuer')
        except jwt.InvalidAudienceError:
            raise Refused('the ID token was issued to another client')
        except jwt.MissingRequiredClaimError as e:
            raise Refused(f'the ID token lacks the {safe(e.claim, 20)!r} claim')
        except jwt.PyJWTError:
            raise Refused('Gatehouse sent a malformed ID token')
    if claims is None:
        raise Refused('the ID token signature does not verify against the issuer\'s keys')
    aud = claims['aud'] if isinstance(claims['aud'], list) else [claims['aud']]
    if ('azp' in claims or len(aud) > 1) and claims.get('azp') != config['client_id']:
        raise Refused('the ID token was issued to another client')
    return claims


def check_claims(claims, user, config):
    """The person approved as `user`, an existing Unix account, in the required group, with MFA when
    required; else Refused. A missing account gets the answers an existing one would (no oracle)."""
    try:
        account = pwd.getpwnam(user)
    except KeyError:
        account = None
    if config['claim'] == 'uid_number':
        uid = claims.get('uid_number')
        if not isinstance(uid, int) or isinstance(uid, bool) or account is None or uid != account.pw_uid:
            raise Refused(f'the Gatehouse account that approved has no uid_number matching {user}\'s uid')
    elif claims.get('preferred_username') != user:
        raise Refused(f'approved by Gatehouse user {str(claims.get("preferred_username"))[:64]!r}, not {user!r}')
    if account is None:
        raise Refused('Gatehouse login is not available for this account')
    groups = claims.get('groups')
    if config['group'] and not (isinstance(groups, list) and config['group'] in groups):
        raise Refused(f'{user} is not in the Gatehouse group {config["group"]!r} this host requires')
    if config['mfa'] == 'yes':
        amr = claims.get('amr') if isinstance(claims.get('amr'), list) else []
        acrs = config['mfa_acr'].split()
        if not ('otp' in amr or 'mfa' in amr or claims.get('acr') in acrs):
            raise Refused('this host requires a second factor: sign in to Gatehouse with your authenticator code')


def qr_text(url):
    try:
        import io
        import qrcode
    except ImportError:
        return ''
    qr = qrcode.QRCode(border=1, error_correction=qrcode.constants.ERROR_CORRECT_L)
    qr.add_data(url)
    qr.make(fit=True)
    out = io.StringIO()
    qr.print_ascii(out=out, invert=True)
    return out.getvalue()


def prompt_text(auth, config):
    """The one prompt: title, QR code, then the link and code right above the Enter line, so that a
    client that cannot draw the QR code (a non-UTF-8 locale prints it as screens of octal escapes)
    still shows them last. Server-supplied text is shown without terminal escapes."""
    complete = safe(auth.get('verification_uri_complete') or auth.get('verification_uri'), 500)
    lines = ['Sign in with Gatehouse to log in.']
    if config['qr'] == 'yes':
        lines.append(qr_text(complete).rstrip('\n'))
    lines += [f'  Open:  {complete}', f"  Code:  {safe(auth['user_code'], 40)}", 'Press Enter once you have approved in your browser: ']
    return '\n'.join(line for line in lines if line)


def safe(value, limit=200):
    """Server-supplied text as one printable line (no terminal escapes)."""
    return ''.join(c if c.isprintable() else '?' for c in str(value))[:limit]


def device_login(user, config, ask):
    """Runs the device flow for `user`; `ask(text)` shows one prompt and returns when answered. Returns the claims or raises Refused.
    It runs whether or not `user` exists on this host, so that an SSH client cannot tell (check_claims refuses a missing one)."""
    deadline = time.monotonic() + int(config['timeout'])
    config['secret'] = read_secret(config['client_secret_file'])
    http = Http(config, deadline)
    _, metadata = http.call(f"{config['issuer']}/.well-known/openid-configuration")
    if metadata.get('issuer') != config['issuer']:
        raise Refused('the discovery document names another issuer')
    for key in ('device_authorization_endpoint', 'token_endpoint', 'jwks_uri'):
        if not isinstance(metadata.get(key), str):
            raise Refused(f'Gatehouse does not announce a {key}')
        if not secure_url(metadata[key]):
            raise Refused(f'Gatehouse announces a {key} that is not https (http only on a loopback address)')
    status, auth = http.call(metadata['device_authorization_endpoint'], {'client_id': config['client_id'], 'scope': config['scope']})
    if status != 200 or not all(isinstance(auth.get(k), str) for k in ('device_code', 'user_code', 'verification_uri')):
        raise Refused(f"Gatehouse refused to start a login: {safe(auth.get('error_description') or auth.get('error') or status)}")
    interval = auth.get('interval') if isinstance(auth.get('interval'), int) and auth['interval'] > 0 else 5
    if isinstance(auth.get('expires_in'), int):
        deadline = min(deadline, time.monotonic() + auth['expires_in'])
    started = time.monotonic()
    ask(prompt_text(auth, config))
    next_poll = started + interval
    while True:
        now = time.monotonic()
        if now >= deadline:
            raise Refused('the login was not approved in time')
        if next_poll > now:
            time.sleep(min(next_poll, deadline) - now)
            continue
        status, answer = http.call(metadata['token_endpoint'], {'grant_type': DEVICE_GRANT, 'device_code': auth['device_code'], 'client_id': config['client_id']})
        error = answer.get('error')
        if status == 200 and isinstance(answer.get('id_token'), str):
            return verify_id_token(answer['id_token'], config, metadata, http)
        if error == 'authorization_pending':
            next_poll = time.monotonic() + interval
        elif error == 'slow_down':
            interval += 5
            next_poll = time.monotonic() + interval
        elif error == 'access_denied':
            raise Refused('the login was denied in the browser')
        elif error == 'expired_token':
            raise Refused('the code expired before it was approved')
        elif status == 200:
            raise Refused('Gatehouse sent no ID token (does the client ask for the openid scope?)')
        else:
            raise Refused(f"Gatehouse refused the login: {safe(answer.get('error_description') or error or status)}")


def _argument(argv, name, default):
    for arg in argv[1:]:
        if arg.startswith(name + '='):
            return arg[len(name) + 1:]
    return default


def pam_sm_authenticate(pamh, flags, argv):
    syslog.openlog('gatehouse-pam', syslog.LOG_PID, syslog.LOG_AUTHPRIV)
    user = None
    try:
        user = pamh.get_user(None)
        if not user:
            return pamh.PAM_USER_UNKNOWN
        config = read_config(_argument(argv, 'config', '/etc/gatehouse/pam.conf'))

        def ask(text):
            pamh.conversation(pamh.Message(pamh.PAM_PROMPT_ECHO_ON, text))

        claims = device_login(user, config, ask)
        check_claims(claims, user, config)
        syslog.syslog(syslog.LOG_INFO, f'accepted {user}: Gatehouse sub {safe(claims.get("sub"), 80)}')
        return pamh.PAM_SUCCESS
    except Refused as refused:
        return _fail(pamh, user, str(refused))
    except pamh.exception as e:
        syslog.syslog(syslog.LOG_NOTICE, f'refused {user}: conversation failed ({e.pam_result})')
        return pamh.PAM_AUTH_ERR
    except Exception as e:  # noqa: BLE001 - fail closed on anything unexpected
        return _fail(pamh, user, f'internal error ({type(e).__name__})')


def _fail(pamh, user, reason):
    syslog.syslog(syslog.LOG_NOTICE, f'refused {user}: {reason}')
    try:
        pamh.conversation(pamh.Message(pamh.PAM_ERROR_MSG, f'Gatehouse login failed: {reason}'))
    except Exception:  # noqa: BLE001 - the message is a courtesy; the answer is still no
        pass
    return pamh.PAM_AUTH_ERR


def pam_sm_setcred(pamh, flags, argv):
    return pamh.PAM_SUCCESS
