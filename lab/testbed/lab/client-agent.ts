/**
 * Runs in the lab's client namespace: GETs URLs on request, so the lab (in the
 * root namespace, which cannot reach the LAN) reads the speakers' endpoints
 * without a process per request. stdin: {"id": n, "url": "...", "timeoutMs": n}
 * per line; stdout: {"id": n, "status": code (0: no answer), "body": "..."}.
 */
import { createInterface } from 'node:readline';

for await (const line of createInterface({ input: process.stdin })) {
  const { id, url, timeoutMs } = JSON.parse(line) as { id: number; url: string; timeoutMs?: number };
  void fetch(url, { signal: AbortSignal.timeout(timeoutMs ?? 1_000) })
    .then(async (res) => ({ status: res.status, body: await res.text() }))
    .catch((err: unknown) => ({ status: 0, body: String(err) }))
    .then((r) => {
      process.stdout.write(`${JSON.stringify({ id, ...r })}\n`);
    });
}
