// TEMPORARY: replaced by the notifications helper's module at integration.
export async function postWebhook(
  url: string,
  body: unknown,
  options: { timeoutMs?: number; allowHosts?: string[]; secret?: string } = {},
): Promise<{ status: number }> {
  void options.allowHosts;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
  });
  await res.arrayBuffer();
  return { status: res.status };
}
