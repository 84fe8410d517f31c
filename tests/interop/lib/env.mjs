// Paths of the binaries under test and temporary directories for the interop tests.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const interopDir = resolve(here, "..");

function binary(envName, defaultRelative) {
  const path = process.env[envName] ?? resolve(interopDir, defaultRelative);
  if (!existsSync(path)) {
    throw new Error(`${envName}: ${path} does not exist (build it, or set ${envName})`);
  }
  return path;
}

export const toolPath = () => binary("MCAPREC_TOOL", "../../build/tools/mcaprec");
export const samplesWriterPath = () =>
  binary("MCAPREC_SAMPLES_WRITER", "../../build/tests/interop/interop_write_samples");

export const makeTempDir = () => mkdtemp(join(tmpdir(), "mcaprec-interop-"));
export const removeDir = (dir) => (dir ? rm(dir, { recursive: true, force: true }) : undefined);

// Runs a binary with a time bound; returns { status, stdout, stderr } instead of throwing on a
// non-zero exit, so tests can assert the exit code and show the output.
export function run(path, args, timeoutMs = 20000) {
  try {
    const stdout = execFileSync(path, args, {
      timeout: timeoutMs,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      maxBuffer: 64 << 20,
    });
    return { status: 0, stdout, stderr: "" };
  } catch (e) {
    if (e.status === null || e.status === undefined) throw e;  // killed or failed to start
    return { status: e.status, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}
