// The files a cluster keeps in its data folder: the cluster map, the cluster secret and the S3 credentials.
// Guarantees: secrets are written with mode 0600 and never logged; files are replaced atomically
// (temp file, fsync, rename), so a crash leaves the old or the new file, never half of one.
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { type ClusterMap, validateClusterMap } from "../core/cluster-map.ts";

export function writeFileAtomic(path: string, content: string, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  const fd = openSync(temp, "w", mode);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  const dirFd = openSync(dirname(path), "r");
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

export function readClusterMap(path: string): ClusterMap {
  const map = JSON.parse(readFileSync(path, "utf8")) as ClusterMap;
  const checked = validateClusterMap(map);
  if (!checked.ok) throw new Error(`${path}: invalid cluster map: ${checked.error}`);
  return checked.value;
}

export function writeClusterMap(path: string, map: ClusterMap): void {
  writeFileAtomic(path, `${JSON.stringify(map, null, 2)}\n`);
}

/** A new cluster secret (what loadOrCreateSecret makes). */
export const newClusterSecret = (): string => randomBytes(32).toString("base64url");
/** New S3 credentials, in the form loadOrCreateCredentials makes them. */
export const newCredentials = (): Credentials => ({ accessKeyId: `RS${randomBytes(9).toString("hex").toUpperCase()}`, secretAccessKey: randomBytes(30).toString("base64url") });
/** A new operator token (what loadOrCreateMetricsToken makes). */
export const newOperatorToken = (): string => randomBytes(24).toString("base64url");

/** The cluster secret that authenticates every internal request (HMAC); made once per cluster. */
export function loadOrCreateSecret(path: string): string {
  if (existsSync(path)) return readFileSync(path, "utf8").trim();
  const secret = newClusterSecret();
  writeFileAtomic(path, `${secret}\n`, 0o600);
  return secret;
}

export function readSecret(path: string): string {
  const secret = readFileSync(path, "utf8").trim();
  if (secret.length < 16) throw new Error(`${path}: the cluster secret is shorter than 16 characters`);
  return secret;
}

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/**
 * S3 credentials: RINGSTORE_ACCESS_KEY and RINGSTORE_SECRET_KEY when set, else the ones stored in the data
 * folder, else new ones generated and stored there (mode 0600).
 */
export function loadOrCreateCredentials(dataDir: string, env: NodeJS.ProcessEnv = process.env): Credentials & { source: "environment" | "stored" | "generated" } {
  const path = join(dataDir, "credentials.json");
  if (env.RINGSTORE_ACCESS_KEY && env.RINGSTORE_SECRET_KEY) {
    return { accessKeyId: env.RINGSTORE_ACCESS_KEY, secretAccessKey: env.RINGSTORE_SECRET_KEY, source: "environment" };
  }
  if (existsSync(path)) {
    const stored = JSON.parse(readFileSync(path, "utf8")) as Credentials;
    return { ...stored, source: "stored" };
  }
  const credentials = newCredentials();
  writeFileAtomic(path, `${JSON.stringify(credentials, null, 2)}\n`, 0o600);
  return { ...credentials, source: "generated" };
}

/**
 * The bearer token that opens /-/metrics on the S3 port (as MinIO's does), kept in the data folder (mode
 * 0600) and made on first use. Two routers started at once on one folder may both make one: the file a
 * router reads back after writing is the one it uses, and the last write wins for the others' restarts.
 */
export function loadOrCreateMetricsToken(dataDir: string): string {
  const path = join(dataDir, "metrics-token");
  if (existsSync(path)) return readFileSync(path, "utf8").trim();
  writeFileAtomic(path, `${newOperatorToken()}\n`, 0o600);
  return readFileSync(path, "utf8").trim();
}
