// The load generator's HTTP client: node:http with a keep-alive agent, one per server under test. Plain node:http
// costs the client less CPU per request than fetch, which matters because the generator shares the machine's two
// cores with the server it measures.
import { Agent, request } from 'node:http';

export interface HttpResponse {
  status: number;
  body: string;
}

export interface ClientCredentials {
  client_id: string;
  client_secret: string;
}

/** RFC 6749 §2.3.1: id and secret are form-encoded before they are joined and base64-encoded. */
export const basicAuth = ({ client_id, client_secret }: ClientCredentials) =>
  `Basic ${Buffer.from(`${encodeURIComponent(client_id)}:${encodeURIComponent(client_secret)}`).toString('base64')}`;

const TIMEOUT_MS = 10_000; // a stuck server must fail requests, not hang the benchmark

export class HttpClient {
  readonly #agent: Agent;
  readonly #base: URL;

  constructor(base: string, maxSockets: number) {
    this.#base = new URL(base);
    // The benchmark talks to the servers it started, on loopback, and to nothing else.
    if (this.#base.hostname !== '127.0.0.1') throw new Error(`refusing to load ${base}: only 127.0.0.1 is benchmarked`);
    this.#agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  /** POSTs an application/x-www-form-urlencoded body and reads the whole response. */
  postForm(path: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<HttpResponse> {
    const body = new URLSearchParams(form).toString();
    return new Promise((resolve, reject) => {
      const req = request(
        {
          agent: this.#agent,
          host: this.#base.hostname,
          port: this.#base.port,
          method: 'POST',
          path,
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'content-length': Buffer.byteLength(body),
            accept: 'application/json',
            ...headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error(`no response within ${TIMEOUT_MS} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  close() {
    this.#agent.destroy();
  }
}
