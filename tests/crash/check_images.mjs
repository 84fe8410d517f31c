// Opens every .mcap file of a directory with the official readers (@mcap/core), indexed and
// streamed, every CRC checked (tests/interop/lib/official.mjs), and checks that both readers see
// the same messages. One node process for all the files of a power-cut trial run
// (tests/crash/power_cut.sh); the trials name event files `event_…`. Prints "ok ..." or the
// failures, exits 0 or 1.
//
// usage: node check_images.mjs DIR
import { readdir } from "node:fs/promises";
import { join } from "node:path";

import { checkEveryCrc, readBoth } from "../interop/lib/official.mjs";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node check_images.mjs DIR");
  process.exit(2);
}
const names = (await readdir(dir)).filter((n) => n.endsWith(".mcap")).sort();
const failures = [];
let messages = 0;
for (const name of names) {
  try {
    const read = await readBoth(join(dir, name));
    checkEveryCrc(read.bytes, read.indexed, read.streamed);
    if (read.indexed.messages.length !== read.streamed.messages.length) {
      throw new Error(
        `${read.indexed.messages.length} messages through the indexes, ` +
          `${read.streamed.messages.length} in the data`,
      );
    }
    messages += read.indexed.messages.length;
  } catch (error) {
    failures.push(`${name}: ${error.message}`);
  }
}
if (failures.length === 0) {
  const events = names.filter((n) => n.startsWith("event_")).length;
  console.log(
    `ok official reader: ${names.length} distinct files (${events} event files), ` +
      `${messages} messages`,
  );
} else {
  for (const failure of failures.slice(0, 20)) console.log(`FAIL official reader: ${failure}`);
  console.log(`FAIL official reader: ${failures.length} of ${names.length} files`);
  process.exit(1);
}
