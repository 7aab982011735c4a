// One etcd test server for the whole repository: libs/platform keeps it (its own tests need it and
// cannot depend on this package), everyone else takes it from here.
import { etcdMissing, startEtcdTestServer } from '@carshare/platform/etcd-test-server';

export interface EtcdServer {
  /** The client URL (`ETCD_ENDPOINTS`). */
  endpoint: string;
  close(): Promise<void>;
}

/** Whether Debian's etcd-server is installed (.ci/run installs it); tests skip with this reason otherwise. */
export { etcdMissing };

/** A one-member etcd on free loopback ports and a temporary data dir, removed on close. */
export const startEtcdServer: () => Promise<EtcdServer> = startEtcdTestServer;
