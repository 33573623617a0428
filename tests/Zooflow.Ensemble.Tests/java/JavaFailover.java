// The Apache ZooKeeper 3.8 Java client against an ensemble through a multi-host connect string, across a leader
// fail-over.
//
// usage: java JavaFailover HOSTS PATH STOPFILE
//
// Creates PATH, then sets it to 1, 2, 3, ... one acknowledged write at a time until STOPFILE exists, retrying a write
// that failed with ConnectionLoss (the client moves to another member on its own; a retried set is idempotent here
// because the value is the counter), printing "acked N" every 20 writes. Then syncs, reads PATH back and prints
// "final acked=N read=V". Exit 0 on success, 2 on a timeout or an unexpected error.
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;

public final class JavaFailover {
    interface Op<T> { T run() throws KeeperException, InterruptedException; }

    static <T> T retry(Op<T> op, long deadlineNanos) throws KeeperException, InterruptedException {
        while (true) {
            try {
                return op.run();
            } catch (KeeperException.ConnectionLossException | KeeperException.OperationTimeoutException e) {
                if (System.nanoTime() > deadlineNanos) {
                    throw e;
                }
                Thread.sleep(50);
            }
        }
    }

    public static void main(String[] args) throws Exception {
        String hosts = args[0], path = args[1], stopFile = args[2];
        CountDownLatch connected = new CountDownLatch(1);
        ZooKeeper zk = new ZooKeeper(hosts, 10000, event -> {
            if (event.getState() == Watcher.Event.KeeperState.SyncConnected) {
                connected.countDown();
            }
        });
        if (!connected.await(30, TimeUnit.SECONDS)) {
            System.out.println("not connected within 30 s");
            System.exit(2);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        retry(() -> {
            try {
                return zk.create(path, new byte[0], ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
            } catch (KeeperException.NodeExistsException e) {
                return path;
            }
        }, deadline);
        System.out.println("connected");
        int acked = 0;
        while (!Files.exists(Paths.get(stopFile))) {
            if (System.nanoTime() > deadline) {
                System.out.println("timed out waiting for the stop file");
                System.exit(2);
            }
            final byte[] value = Integer.toString(acked + 1).getBytes(StandardCharsets.UTF_8);
            retry(() -> zk.setData(path, value, -1), deadline);
            acked++;
            if (acked % 20 == 0) {
                System.out.println("acked " + acked);
            }
        }
        CountDownLatch synced = new CountDownLatch(1);
        zk.sync(path, (rc, p, ctx) -> synced.countDown(), null);
        synced.await(30, TimeUnit.SECONDS);
        byte[] data = retry(() -> zk.getData(path, false, null), deadline);
        System.out.println("final acked=" + acked + " read=" + new String(data, StandardCharsets.UTF_8) + " ");
        zk.close();
    }
}
