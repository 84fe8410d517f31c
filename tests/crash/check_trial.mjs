// Checks the output directory of one kill -9 trial (tests/crash/kill9_trials.sh) after the
// daemon was killed, restarted (recovering every .active file) and stopped:
//   - no .active file is left, and every .mcap file opens in the official indexed reader
//     (summary present, every CRC checked) and reads the same through the official stream reader;
//   - the numbered messages (payload = u64 little-endian number first, from `mcaprec send
//     --numbered`) are each recorded once over all files;
//   - every message the sender had handed to the kernel by kill time - window is recorded, the
//     window being sync_interval + chunk_max_age (DESIGN section 4);
//   - nothing below the highest recorded number is missing (the writer keeps chunks in order).
// Prints one line starting with "ok" or "FAIL" and exits 0 or 1.
//
// usage: node check_trial.mjs --dir D --progress F --kill-ns T --window-ms W
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";

import { checkEveryCrc, readBoth } from "../interop/lib/official.mjs";

const { values: options } = parseArgs({
  options: {
    dir: { type: "string" },
    progress: { type: "string" },
    "kill-ns": { type: "string" },
    "window-ms": { type: "string" },
  },
});
for (const key of ["dir", "progress", "kill-ns", "window-ms"]) {
  if (options[key] === undefined) {
    console.error(`check_trial: --${key} is required`);
    process.exit(2);
  }
}

const killNs = BigInt(options["kill-ns"]);
const windowNs = BigInt(options["window-ms"]) * 1_000_000n;
const problems = [];

// The sender appends "<unix_ns> <messages handed to the kernel so far>" every 100 ms. The
// messages that must be recorded are those counted by the last line written at or before
// `boundNs`: each of them was handed over no later than that line's time. A torn last line (the
// sender dies when the daemon does) is ignored.
async function requiredCount(path, boundNs) {
  let count = 0;
  let lineNs = null;
  let sentAtEnd = 0;
  for (const line of (await readFile(path, "utf8")).split("\n")) {
    const match = /^(\d+) (\d+)$/.exec(line);
    if (!match) continue;
    const at = BigInt(match[1]);
    sentAtEnd = Number(match[2]);
    if (at <= boundNs) {
      count = sentAtEnd;
      lineNs = at;
    }
  }
  return { count, lineNs, sentAtEnd };
}

// Numbers as ranges ("5-9,12") so that a report of thousands of missing messages stays short.
function ranges(numbers) {
  const parts = [];
  for (let i = 0; i < numbers.length; ) {
    let j = i;
    while (j + 1 < numbers.length && numbers[j + 1] === numbers[j] + 1) j++;
    parts.push(i === j ? `${numbers[i]}` : `${numbers[i]}-${numbers[j]}`);
    i = j + 1;
  }
  const text = parts.join(",");
  return text.length > 300 ? `${text.slice(0, 300)}...` : text;
}

async function readRecording(dir) {
  const names = (await readdir(dir)).sort();
  for (const name of names.filter((n) => n.endsWith(".active"))) {
    problems.push(`${name}: left as .active after the restart`);
  }
  const whereFound = new Map();  // number -> file names holding it
  let messages = 0;
  const files = names.filter((n) => n.endsWith(".mcap"));
  for (const name of files) {
    let read;
    try {
      read = await readBoth(join(dir, name));
      checkEveryCrc(read.bytes, read.indexed, read.streamed);
    } catch (error) {
      problems.push(`${name}: official reader: ${error.message}`);
      continue;
    }
    const indexed = read.indexed.messages;
    const streamed = read.streamed.messages.length;
    const statistics = read.indexed.reader.statistics?.messageCount;
    if (indexed.length !== streamed) {
      problems.push(`${name}: ${indexed.length} messages through the indexes, ${streamed} in the data`);
    }
    if (statistics !== undefined && statistics !== BigInt(indexed.length)) {
      problems.push(`${name}: statistics count ${statistics} messages, ${indexed.length} read`);
    }
    for (const message of indexed) {
      messages++;
      if (message.data.byteLength < 8) {
        problems.push(`${name}: a ${message.data.byteLength}-byte message carries no number`);
        continue;
      }
      const view = new DataView(message.data.buffer, message.data.byteOffset, 8);
      const number = Number(view.getBigUint64(0, true));
      const holders = whereFound.get(number) ?? [];
      holders.push(name);
      whereFound.set(number, holders);
    }
  }
  return { files, messages, whereFound };
}

const required = await requiredCount(options.progress, killNs - windowNs);
const msBeforeKill = (ns) => (ns === null ? "?" : Number((killNs - ns) / 1_000_000n));
const { files, messages, whereFound } = await readRecording(options.dir);

const duplicated = [...whereFound].filter(([, holders]) => holders.length > 1);
for (const [number, holders] of duplicated.slice(0, 5)) {
  problems.push(`message ${number} recorded ${holders.length} times (${holders.join(", ")})`);
}
if (duplicated.length > 5) problems.push(`... ${duplicated.length} duplicated numbers in all`);

const highest = whereFound.size === 0 ? -1 : Math.max(...whereFound.keys());
const missing = [];
for (let n = 0; n < Math.max(required.count, highest + 1); n++) {
  if (!whereFound.has(n)) missing.push(n);
}
const missingRequired = missing.filter((n) => n < required.count);
if (missingRequired.length > 0) {
  problems.push(
    `${missingRequired.length} of the ${required.count} messages sent by ` +
      `kill - ${msBeforeKill(required.lineNs)} ms are missing: ${ranges(missingRequired)}`,
  );
}
const gaps = missing.filter((n) => n >= required.count);
if (gaps.length > 0) {
  problems.push(`missing below the highest recorded number ${highest}: ${ranges(gaps)}`);
}

const summary =
  `${files.length} files, ${messages} messages (0..${highest}), ` +
  `required ${required.count}, sent ${required.sentAtEnd}`;
if (problems.length === 0) {
  console.log(`ok ${summary}`);
} else {
  console.log(`FAIL ${summary}: ${problems.join("; ")}`);
  process.exit(1);
}
