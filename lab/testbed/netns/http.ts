import type { Host, Lan } from './lan.ts';

const FETCH = `
const r = await fetch(process.argv[1], { signal: AbortSignal.timeout(Number(process.argv[2])) }).then(
  async (res) => ({ status: res.status, body: await res.text() }),
  (err) => ({ status: 0, body: String(err) }),
);
process.stdout.write(JSON.stringify(r));`;

/**
 * GET `url` from inside `host` (a speaker's endpoint listens on the host's
 * LAN address, which the root namespace cannot reach). Status 0: no answer.
 */
export async function httpGet(
  lan: Lan,
  host: Host,
  url: string,
  timeoutMs = 2_000,
): Promise<{ status: number; body: string }> {
  const r = await lan.exec(
    host,
    [process.execPath, '--input-type=module', '-e', FETCH, url, String(timeoutMs)],
    {
      timeoutMs: timeoutMs + 5_000,
    },
  );
  try {
    return JSON.parse(r.stdout) as { status: number; body: string };
  } catch {
    return { status: 0, body: r.stderr };
  }
}
