// oauth2-interop drives Gatehouse with golang.org/x/oauth2, the OAuth client most Go CLIs use,
// so the test suite shows that a client nobody here wrote completes its flows.
//
//	oauth2-interop -issuer URL -client-id ID -mode device   # RFC 8628 with DeviceAuth/DeviceAccessToken
//	oauth2-interop -issuer URL -client-id ID -mode pkce     # authorization code + PKCE on 127.0.0.1
//
// It writes one JSON object per line to stdout: {"event":"device",...} or {"event":"authorize",...}
// for the person (the test's browser), then {"event":"token",...}; errors go to stderr, exit 1.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

type discovery struct {
	Issuer                      string `json:"issuer"`
	AuthorizationEndpoint       string `json:"authorization_endpoint"`
	TokenEndpoint               string `json:"token_endpoint"`
	DeviceAuthorizationEndpoint string `json:"device_authorization_endpoint"`
	UserinfoEndpoint            string `json:"userinfo_endpoint"`
}

func emit(v map[string]any) {
	line, _ := json.Marshal(v)
	fmt.Println(string(line))
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "oauth2-interop: "+format+"\n", args...)
	os.Exit(1)
}

func discover(ctx context.Context, issuer string) discovery {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(issuer, "/")+"/.well-known/openid-configuration", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		fail("discovery: %v", err)
	}
	defer res.Body.Close()
	var d discovery
	if res.StatusCode != http.StatusOK {
		fail("discovery answered %d", res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(&d); err != nil {
		fail("discovery: %v", err)
	}
	if d.Issuer != issuer {
		fail("discovery issuer %q is not %q", d.Issuer, issuer)
	}
	return d
}

func tokenEvent(ctx context.Context, conf *oauth2.Config, d discovery, tok *oauth2.Token) {
	idToken, _ := tok.Extra("id_token").(string)
	// Call userinfo through the library's own authenticated client, then refresh once.
	client := conf.Client(ctx, tok)
	res, err := client.Get(d.UserinfoEndpoint)
	if err != nil {
		fail("userinfo: %v", err)
	}
	var info map[string]any
	_ = json.NewDecoder(res.Body).Decode(&info)
	res.Body.Close()
	refreshed := ""
	if tok.RefreshToken != "" {
		next, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if err != nil {
			fail("refresh: %v", err)
		}
		refreshed = next.AccessToken
	}
	emit(map[string]any{
		"event": "token", "access_token": tok.AccessToken, "token_type": tok.Type(), "refresh_token": tok.RefreshToken,
		"id_token": idToken, "expires_in": int(time.Until(tok.Expiry).Seconds()), "userinfo_status": res.StatusCode, "userinfo": info,
		"refreshed_access_token": refreshed,
	})
}

func device(ctx context.Context, conf *oauth2.Config, d discovery) {
	auth, err := conf.DeviceAuth(ctx)
	if err != nil {
		fail("device authorization: %v", err)
	}
	emit(map[string]any{"event": "device", "verification_uri": auth.VerificationURI, "verification_uri_complete": auth.VerificationURIComplete, "user_code": auth.UserCode, "interval": auth.Interval})
	tok, err := conf.DeviceAccessToken(ctx, auth)
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			fail("device token: %s %s", re.ErrorCode, re.ErrorDescription)
		}
		fail("device token: %v", err)
	}
	tokenEvent(ctx, conf, d, tok)
}

func randomString() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func pkce(ctx context.Context, conf *oauth2.Config, d discovery) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail("listen: %v", err)
	}
	conf.RedirectURL = fmt.Sprintf("http://%s/callback", ln.Addr())
	state := randomString()
	verifier := oauth2.GenerateVerifier()
	codes := make(chan string, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.URL.Path != "/callback" || q.Get("state") != state {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		if e := q.Get("error"); e != "" {
			fmt.Fprintln(w, "sign-in failed")
			fail("authorization: %s %s", e, q.Get("error_description"))
		}
		fmt.Fprintln(w, "Signed in with golang.org/x/oauth2")
		codes <- q.Get("code")
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	emit(map[string]any{"event": "authorize", "url": conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("prompt", "consent"))})
	var code string
	select {
	case code = <-codes:
	case <-ctx.Done():
		fail("no redirect before the deadline")
	}
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		fail("code exchange: %v", err)
	}
	tokenEvent(ctx, conf, d, tok)
}

func main() {
	issuer := flag.String("issuer", "", "issuer URL")
	clientID := flag.String("client-id", "", "public client id")
	mode := flag.String("mode", "device", "device or pkce")
	scope := flag.String("scope", "openid profile offline_access", "space-separated scopes")
	flag.Parse()
	if *issuer == "" || *clientID == "" || (*mode != "device" && *mode != "pkce") {
		flag.Usage()
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d := discover(ctx, *issuer)
	conf := &oauth2.Config{
		ClientID: *clientID,
		Scopes:   strings.Fields(*scope),
		Endpoint: oauth2.Endpoint{AuthURL: d.AuthorizationEndpoint, TokenURL: d.TokenEndpoint, DeviceAuthURL: d.DeviceAuthorizationEndpoint, AuthStyle: oauth2.AuthStyleInParams},
	}
	if *mode == "device" {
		device(ctx, conf, d)
	} else {
		pkce(ctx, conf, d)
	}
}
