/**
 * A throw-away self-signed certificate for TLS tests, made with the `openssl` command:
 * `selfSignedCertificate()` returns `{ dir, certFile, keyFile, cert }` (SAN `DNS:localhost`,
 * `IP:127.0.0.1`, valid for one day) in a fresh temporary directory; `remove()` deletes it.
 */
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

/** Files of a generated certificate. */
export interface Certificate {
  readonly dir: string
  readonly certFile: string
  readonly keyFile: string
  readonly cert: Buffer
  readonly remove: () => void
}

/** Generates a self-signed certificate for localhost and 127.0.0.1. */
export const selfSignedCertificate = (): Certificate => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "zerobus-tls-"))
  const certFile = Path.join(dir, "cert.pem")
  const keyFile = Path.join(dir, "key.pem")
  execFileSync("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    keyFile,
    "-out",
    certFile,
    "-days",
    "1",
    "-subj",
    "/CN=localhost",
    "-addext",
    "subjectAltName=DNS:localhost,IP:127.0.0.1",
    // An end-entity certificate (rustls refuses a CA certificate as the server's certificate).
    "-addext",
    "basicConstraints=critical,CA:FALSE",
    "-addext",
    "keyUsage=critical,digitalSignature",
    "-addext",
    "extendedKeyUsage=serverAuth"
  ], { stdio: "pipe" })
  return {
    dir,
    certFile,
    keyFile,
    cert: Fs.readFileSync(certFile),
    remove: () => Fs.rmSync(dir, { recursive: true, force: true })
  }
}
