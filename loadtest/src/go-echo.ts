// The Go baseline (bench/go-echo, issue 17): starts the grpc-go echo server that answers GetProduct
// with fixed response bytes, plaintext or over mTLS, and stops it. make bench builds the binary.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createInterface } from "node:readline";

/** A running Go echo. */
export interface GoEcho {
  port: number;
  close(): Promise<void>;
}

/** mTLS files of the Go echo: the CA of client certificates, and its own certificate and key. */
export interface GoEchoTls {
  ca: string;
  cert: string;
  key: string;
}

/** Starts `bin` on a free loopback port answering `response`; resolves once it listens. */
export async function startGoEcho(bin: string, response: Uint8Array, responseFile: string, tls?: GoEchoTls): Promise<GoEcho> {
  writeFileSync(responseFile, response);
  const args = ["-addr", "127.0.0.1:0", "-response", responseFile, ...(tls ? ["-ca", tls.ca, "-cert", tls.cert, "-key", tls.key] : [])];
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${bin} did not listen within 10 s`)), 10_000);
    child.once("exit", (code) => { clearTimeout(timer); reject(new Error(`${bin} exited with ${code}`)); });
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const m = /^listening (\d+)$/.exec(line);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
  });
  return { port, close: async () => { child.kill("SIGTERM"); await exited; } };
}
