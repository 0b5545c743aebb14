// The environment the aws cli runs in for a test cluster: its credentials and nothing from the machine's
// own configuration (no profile, no pager).
import type { TestCluster } from "./cluster.ts";

export function awsCliEnv(cluster: Pick<TestCluster, "accessKeyId" | "secretAccessKey">): NodeJS.ProcessEnv {
  return {
    ...process.env,
    AWS_ACCESS_KEY_ID: cluster.accessKeyId,
    AWS_SECRET_ACCESS_KEY: cluster.secretAccessKey,
    AWS_DEFAULT_REGION: "us-east-1",
    AWS_CONFIG_FILE: "/dev/null",
    AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
    AWS_PAGER: "",
  };
}
