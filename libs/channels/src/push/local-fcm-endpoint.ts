import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Credential, GoogleOAuthAccessToken } from 'firebase-admin/app';

/**
 * firebase-admin hard-codes https://fcm.googleapis.com and https://oauth2.googleapis.com and has no
 * FCM emulator switch, but it sends every HTTP/1.1 request (messages and, for a key file, the OAuth
 * token exchange) through the app's `httpAgent`. This agent keeps the request as the SDK built it
 * (path, Host header) and only dials `baseUrl` instead: plain TCP for http://, TLS for https://.
 * HTTP/2 ignores agents, hence `enableLegacyHttpTransport()` wherever this is used.
 */
export class LocalEndpointAgent extends https.Agent {
  private readonly target: URL;

  constructor(baseUrl: string) {
    super({ keepAlive: true });
    this.target = new URL(baseUrl);
  }

  override createConnection(): Duplex {
    const secure = this.target.protocol === 'https:';
    const host = this.target.hostname;
    const port = Number(this.target.port) || (secure ? 443 : 80);
    return secure
      ? tls.connect({ host, port, ...(!net.isIP(host) && { servername: host }) })
      : net.connect({ host, port });
  }
}

/**
 * Without a service-account key there is no JWT to exchange, so the token comes from the local
 * endpoint's OAuth token URL with a client_credentials grant (the FCM sandbox accepts both).
 */
export function localEndpointCredential(baseUrl: string): Credential {
  const tokenUrl = new URL('/token', baseUrl);
  return {
    async getAccessToken(): Promise<GoogleOAuthAccessToken> {
      const res = await fetch(tokenUrl, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'client_credentials' }),
      }).catch((err: Error) => {
        // fetch says only "fetch failed"; the socket error in `cause` is what tells an outage
        const cause = err.cause as { code?: string } | undefined;
        throw new Error(`token request to ${tokenUrl.origin} failed: ${cause?.code ?? err.message}`);
      });
      if (!res.ok) throw new Error(`token request to ${tokenUrl.origin} failed: status code ${res.status}`);
      return (await res.json()) as GoogleOAuthAccessToken;
    },
  };
}
