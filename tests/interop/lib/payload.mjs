// Regenerates sample payloads from the manifest's (size, seed, pattern) description, byte for
// byte as tests/interop/write_samples.cpp produced them.
export function makePayload(size, seed, pattern, textPattern) {
  const out = new Uint8Array(size);
  if (pattern === "text") {
    const text = new TextEncoder().encode(textPattern);
    for (let i = 0; i < size; i++) out[i] = text[(seed + i) % text.length];
    return out;
  }
  if (pattern !== "random") throw new Error(`unknown payload pattern ${pattern}`);
  let state = seed === 0 ? 1 : seed >>> 0;
  for (let i = 0; i < size; i++) {
    state = (state ^ (state << 13)) >>> 0;
    state = (state ^ (state >>> 17)) >>> 0;
    state = (state ^ (state << 5)) >>> 0;
    out[i] = state & 0xff;
  }
  return out;
}
