using System.Text;
using Xunit;
using Zooflow.Client;
using Zooflow.Jute;
using Zooflow.TestKit;

namespace Zooflow.Integration.Tests;

/// <summary>
/// <c>zooflow import-zookeeper</c> on a data directory written by the Debian ZooKeeper 3.8 in this run (killed with SIGKILL
/// while a session with ephemerals is alive): Zooflow then serves the identical tree.
/// </summary>
public sealed class ImportZookeeperTests
{
    private sealed record NodeState(byte[] Data, IReadOnlyList<Acl> Acl, Stat Stat);

    private static async Task<Dictionary<string, NodeState>> CaptureAsync(ZooKeeperClient client, string root, CancellationToken ct)
    {
        var result = new Dictionary<string, NodeState>(StringComparer.Ordinal);
        var stack = new Stack<string>();
        stack.Push(root);
        while (stack.Count > 0)
        {
            var path = stack.Pop();
            var (data, stat) = await client.GetDataAsync(path, cancellationToken: ct);
            var (acl, _) = await client.GetAclAsync(path, ct);
            result[path] = new NodeState(data, acl, stat);
            foreach (var child in await client.GetChildrenAsync(path, cancellationToken: ct))
            {
                stack.Push(path == "/" ? "/" + child : path + "/" + child);
            }
        }

        return result;
    }

    [Fact]
    public async Task Import_ZooKeeper38DataDir_ZooflowServesIdenticalTree()
    {
        if (!File.Exists(Harness.Java) || !File.Exists(Harness.ZooKeeperJar))
        {
            Assert.Skip("Debian ZooKeeper 3.8 (java + /usr/share/java/zookeeper.jar) is not installed");
        }

        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDir("zooflow-import");
        var zkData = dir.Combine("zk-data");
        Directory.CreateDirectory(zkData);
        var zkPort = FreePort.Next();
        var zkCfg = Path.Combine(dir.Path, "zk.cfg");
        // snapCount=10 (read as zookeeper.snapCount) makes ZooKeeper snapshot every 5..10 txns, so the import reads real
        // (fuzzy) snapshots with nodes, sessions and ACLs, and replays the log after them.
        await File.WriteAllTextAsync(zkCfg, $"tickTime=2000\ndataDir={zkData}\nclientPort={zkPort}\nclientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\nsnapCount=10\n", ct);
        await File.WriteAllTextAsync(dir.Combine("log4j.properties"), "log4j.rootLogger=INFO, F\nlog4j.appender.F=org.apache.log4j.FileAppender\nlog4j.appender.F.File=" + dir.Combine("zk.log") + "\nlog4j.appender.F.layout=org.apache.log4j.PatternLayout\n", ct);
        var classpath = string.Join(':', dir.Path, Harness.ZooKeeperJar, Harness.ZooKeeperJuteJar, "/usr/share/java/slf4j-log4j12.jar", "/usr/share/java/log4j-1.2.jar");

        Dictionary<string, NodeState> expected;
        long ephemeralOwner;
        await using (var zk = ProcessRunner.Start(Harness.Java,
            ["-Xmx512m", "-Dzookeeper.admin.enableServer=false", "-cp", classpath, "org.apache.zookeeper.server.quorum.QuorumPeerMain", zkCfg], workingDirectory: dir.Path))
        {
            await Harness.WaitPortAsync(zk, zkPort, TimeSpan.FromSeconds(60), ct);
            var client = await Harness.ConnectAsync(zkPort, ct, TimeSpan.FromSeconds(40));
            var digest = new Acl(Perms.All, new Id("digest", "alice:Ls3fLmZ+XW0Q2wMoxqf6RbRvqzg="));
            var worldRead = new Acl(Perms.Read, new Id("world", "anyone"));
            await client.CreateAsync("/imp", "root"u8.ToArray(), cancellationToken: ct);
            await client.CreateAsync("/imp/data", Encoding.UTF8.GetBytes(new string('x', 3000)), cancellationToken: ct);
            await client.SetDataAsync("/imp/data", "changed"u8.ToArray(), cancellationToken: ct);
            await client.SetDataAsync("/imp/data", "changed again"u8.ToArray(), cancellationToken: ct);
            await client.CreateAsync("/imp/acl", "secret"u8.ToArray(), [digest, worldRead], cancellationToken: ct);
            await client.CreateAsync("/imp/acl2", [], [new Acl(Perms.All, new Id("world", "anyone"))], cancellationToken: ct);
            await client.SetAclAsync("/imp/acl2", [digest, new Acl(Perms.Read | Perms.Write, new Id("world", "anyone"))], cancellationToken: ct);
            await client.CreateAsync("/imp/q", [], cancellationToken: ct);
            for (var i = 0; i < 5; i++)
            {
                await client.CreateAsync("/imp/q/item-", Encoding.ASCII.GetBytes($"item {i}"), mode: CreateMode.PersistentSequential, cancellationToken: ct);
            }

            await client.DeleteAsync("/imp/q/item-0000000001", cancellationToken: ct);
            await client.CreateAsync("/imp/eph", "alive"u8.ToArray(), mode: CreateMode.Ephemeral, cancellationToken: ct);
            await client.CreateAsync("/imp/eph-seq-", "alive too"u8.ToArray(), mode: CreateMode.EphemeralSequential, cancellationToken: ct);
            await client.MultiAsync([Op.Create("/imp/m1", "a"u8.ToArray()), Op.Create("/imp/m2", "b"u8.ToArray()), Op.Delete("/imp/m1")], ct);
            // A closed session's ephemerals must not come across.
            await using (var other = await Harness.ConnectAsync(zkPort, ct))
            {
                await other.CreateAsync("/imp/gone", [], mode: CreateMode.Ephemeral, cancellationToken: ct);
            }

            expected = await CaptureAsync(client, "/imp", ct);
            var root = await CaptureAsync(client, "/", ct);
            expected["/"] = root["/"];
            ephemeralOwner = expected["/imp/eph"].Stat.EphemeralOwner;
            Assert.NotEqual(0, ephemeralOwner);
            Assert.False(expected.ContainsKey("/imp/gone"));
            zk.Kill(); // SIGKILL: the session with the ephemerals is still alive in ZooKeeper's files
            _ = client.DisposeAsync().AsTask();
        }

        var target = dir.Combine("zooflow-data");
        var import = await ProcessRunner.RunAsync("dotnet", [Harness.ZooflowCli, "import-zookeeper", zkData, target], TimeSpan.FromSeconds(60), cancellationToken: ct);
        Assert.True(import.ExitCode == 0, import.ToString());
        TestContext.Current.TestOutputHelper?.WriteLine(import.StandardOutput);

        var port = FreePort.Next();
        var cfg = Harness.WriteConfig(dir.Path, target, port, "maxSessionTimeout=60000\n");
        await using var server = await Harness.StartZooflowAsync(cfg, port, dir.Path, ct);
        await using var check = await Harness.ConnectAsync(port, ct);
        var actual = await CaptureAsync(check, "/imp", ct);
        actual["/"] = (await CaptureAsync(check, "/", ct))["/"];
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (path, want) in expected)
        {
            var got = actual[path];
            Assert.True(want.Data.AsSpan().SequenceEqual(got.Data), $"{path}: data differs");
            Assert.Equal(want.Acl, got.Acl);
            Assert.Equal(want.Stat, got.Stat);
        }

        // The sequential counter carried over: the next item continues after the last one ZooKeeper gave out.
        var next = await check.CreateAsync("/imp/q/item-", [], mode: CreateMode.PersistentSequential, cancellationToken: ct);
        Assert.Equal("/imp/q/item-0000000005", next);
        Assert.Equal(ephemeralOwner, actual["/imp/eph"].Stat.EphemeralOwner);
        TestContext.Current.TestOutputHelper?.WriteLine($"compared {expected.Count} znodes: data, ACL and Stat identical");
    }
}
