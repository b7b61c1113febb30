/**
 * Dropping file access once the server has what it reads at startup. The
 * start command grants `--allow-read` and `--allow-write` unscoped because
 * FREEROUTER_KV_PATH, FREEROUTER_CLIENT_KEYS and `.env` may name any path;
 * once `.env` is read, the client keys file loaded and the KV store open
 * (Deno KV keeps its file open and needs no permission for it after
 * `Deno.openKv`), the process revokes both, so nothing running in it later
 * (a dependency, a bug) can read or write a file. Deno-only.
 *
 * @module
 */

/** The file permissions given up, and whether each is still granted after the attempt. */
export interface FileAccess {
  read: Deno.PermissionState;
  write: Deno.PermissionState;
}

/** Revokes read and write for the rest of the process; returns their states afterwards. */
export async function dropFileAccess(): Promise<FileAccess> {
  await Deno.permissions.revoke({ name: "read" });
  await Deno.permissions.revoke({ name: "write" });
  const [read, write] = await Promise.all([
    Deno.permissions.query({ name: "read" }),
    Deno.permissions.query({ name: "write" }),
  ]);
  return { read: read.state, write: write.state };
}

/** The startup log line for {@link dropFileAccess}'s outcome: info when both are gone, else a warning. */
export function fileAccessLine(
  access: FileAccess,
): { level: "info" | "warn"; message: string } {
  const kept = (["read", "write"] as const).filter((p) =>
    access[p] === "granted"
  );
  return kept.length === 0
    ? {
      level: "info",
      message:
        "File access dropped: the KV store is open, and the process can no longer read or write files",
    }
    : {
      level: "warn",
      message: `Could not drop file access: ${
        kept.join(" and ")
      } still granted`,
    };
}
