// Processes started by `ringstore up` stop when the launcher is gone, even if it died by SIGKILL and could
// not stop them: a storage node or router left behind would hold its port and answer for a cluster that
// no longer exists. Processes started on their own (systemd, by hand) are not affected.
export const PARENT_PID_ENV = "RINGSTORE_PARENT_PID";

export function exitWithParent(onOrphaned: () => void, checkEveryMs = 1000): void {
  const expected = Number(process.env[PARENT_PID_ENV]);
  if (!Number.isInteger(expected) || expected <= 0) return;
  const timer = setInterval(() => {
    if (process.ppid !== expected) {
      clearInterval(timer);
      onOrphaned();
    }
  }, checkEveryMs);
  timer.unref();
}
