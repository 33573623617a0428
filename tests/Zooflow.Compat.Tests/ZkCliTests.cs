using System.Text.RegularExpressions;
using Xunit;
using Zooflow.Compat.Tests.Infrastructure;
using Zooflow.TestKit;

namespace Zooflow.Compat.Tests;

/// <summary>
/// The official Java shell (zkCli.sh from Debian's zookeeper package) scripted through stdin, and the C client's
/// shell (cli_mt from zookeeper-bin) in batch mode. Output is normalized (root path, times, absolute zxids, session ids)
/// and compared with what Apache ZooKeeper 3.8 produced.
/// </summary>
public sealed partial class ZkCliTests(ServerPool pool)
{
    private const string AliceDigest = "aYXlLOpEooaV1cRAvUL1fp9Qt7E="; // base64(sha1("alice:secret"))
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private const string Script = """
        create %R% hello
        create %R%/a adata
        create -e %R%/e
        create -s %R%/s- sdata
        create -c %R%/cont
        create -t 100000 %R%/ttl tdata
        ls %R%
        get %R%/a
        set %R%/a newdata
        get -s %R%/a
        stat %R%/a
        getAcl %R%/a
        setAcl %R%/a digest:alice:%D%:cdrwa
        get %R%/a
        addauth digest alice:secret
        get %R%/a
        getAcl %R%/a
        create %R%/x
        create %R%/x/y
        delete %R%/x
        deleteall %R%/x
        delete %R%/nope
        create %R%/e
        set -v 5 %R%/e bad
        delete -v 7 %R%/e
        create %R%/e/child
        getAllChildrenNumber %R%
        getEphemerals %R%
        stat %R%/ttl
        ls -s %R%/cont
        sync %R%
        whoami
        quit
        """;

    private const string ExpectedStdout = """
        [a, cont, e, s-0000000002, ttl]
        adata
        newdata
        cversion = 0
        dataVersion = 1
        aclVersion = 0
        ephemeralOwner = 0x0
        dataLength = 7
        numChildren = 0
        cversion = 0
        dataVersion = 1
        aclVersion = 0
        ephemeralOwner = 0x0
        dataLength = 7
        numChildren = 0
        'world,'anyone
        : cdrwa
        newdata
        'digest,'alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=
        : cdrwa
        5
        [<root>/e]
        cversion = 0
        dataVersion = 0
        aclVersion = 0
        ephemeralOwner = 0x0
        dataLength = 5
        numChildren = 0
        []
        cversion = 0
        dataVersion = 0
        aclVersion = 0
        ephemeralOwner = 0x0
        dataLength = 0
        numChildren = 0
        Sync is OK
        Auth scheme: User
        digest: alice
        ip: 127.0.0.1
        """;

    private const string ExpectedStderr = """
        Created <root>
        Created <root>/a
        Created <root>/e
        Created <root>/s-0000000002
        Created <root>/cont
        Created <root>/ttl
        Insufficient permission : <root>/a
        Created <root>/x
        Created <root>/x/y
        Node not empty: <root>/x
        Node does not exist: <root>/nope
        Node already exists: <root>/e
        version No is not valid : <root>/e
        version No is not valid : <root>/e
        Ephemerals cannot have children: <root>/e/child
        """;

    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public async Task ZkCli_ScriptedSession_OutputMatchesZooKeeper(ServerKind kind)
    {
        var server = await pool.GetAsync(kind);
        var root = ServerPool.UniqueRoot("zkcli");
        var input = Script.Replace("%D%", AliceDigest, StringComparison.Ordinal).Replace("%R%", root, StringComparison.Ordinal) + "\n";
        var result = await ProcessRunner.RunAsync(Paths.ZkCli, ["-server", server.ConnectString, "-waitforconnection"], Timeout,
            stdin: input, cancellationToken: TestContext.Current.CancellationToken);

        var stdout = Normalize(result.StandardOutput, root);
        // whoami lists the connection's identities in ZooKeeper's hash-set order (digest before ip there); any order is fine.
        var whoami = stdout.IndexOf("Auth scheme: User");
        if (whoami >= 0)
        {
            stdout.Sort(whoami + 1, stdout.Count - whoami - 1, StringComparer.Ordinal);
        }

        var stderr = Normalize(result.StandardError, root);
        AssertSameLines(ExpectedStdout, stdout, "stdout", result);
        AssertSameLines(ExpectedStderr, stderr, "stderr", result);
    }

    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public async Task CClient_BatchCommands_OutputMatchesZooKeeper(ServerKind kind)
    {
        var server = await pool.GetAsync(kind);
        var root = ServerPool.UniqueRoot("ccli");
        string[] commands =
        [
            "create R", "create R/c", "create2 R/d", "get R/c", "set R/c hello", "get R/c", "ls2 R", "create R/c",
            "delete R", "delete R/d", "ls R", "delete R/c", "delete R/c", "get R/c",
        ];
        var transcript = new List<string>();
        foreach (var command in commands)
        {
            var line = command.Replace("R", root, StringComparison.Ordinal);
            var result = await ProcessRunner.RunAsync(Paths.CCli, ["-h", server.ConnectString, "-c", line], TimeSpan.FromSeconds(20),
                cancellationToken: TestContext.Current.CancellationToken);
            transcript.Add("> " + command);
            transcript.AddRange(Normalize(result.StandardOutput + result.StandardError, root).Where(l => !CNoise().IsMatch(l)));
        }

        const string expected = """
            > create R
            [<root>]: rc = 0
            name = <root>
            > create R/c
            [<root>/c]: rc = 0
            name = <root>/c
            > create2 R/d
            [<root>/d]: rc = 0
            name = <root>/d
            version=0	aversion=0
            ephemeralOwner = 0
            > get R/c
            <root>/c: rc = 0
            value_len = 3
            new
            Stat:
            version=0	aversion=0
            ephemeralOwner = 0
            > set R/c hello
            <root>/c: rc = 0 Stat:
            version=1	aversion=0
            ephemeralOwner = 0
            > get R/c
            <root>/c: rc = 0
            value_len = 5
            hello
            Stat:
            version=1	aversion=0
            ephemeralOwner = 0
            > ls2 R
            <root>: rc = 0
            c
            d
            version=0	aversion=0
            ephemeralOwner = 0
            > create R/c
            [<root>/c]: rc = -110
            > delete R
            <root>: rc = -111
            > delete R/d
            <root>/d: rc = 0
            > ls R
            <root>: rc = 0
            c
            > delete R/c
            <root>/c: rc = 0
            > delete R/c
            <root>/c: rc = -101
            > get R/c
            <root>/c: rc = -101
            Stat:
            null
            """;
        var actual = transcript.Select(l => l.Trim()).ToList();
        AssertSameLines(expected, actual, "cli_mt transcript", null);
    }

    private static List<string> Normalize(string output, string root)
    {
        var lines = new List<string>();
        foreach (var raw in output.Replace(root, "<root>", StringComparison.Ordinal).Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Trim().Length == 0 || Noise().IsMatch(line))
            {
                continue;
            }

            lines.Add(OwnerRegex().Replace(line, "ephemeralOwner = <session>"));
        }

        return lines;
    }

    private static void AssertSameLines(string expected, List<string> actual, string what, ProcessResult? result)
    {
        var want = expected.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        for (var i = 0; i < Math.Max(want.Count, actual.Count); i++)
        {
            var w = i < want.Count ? want[i] : "<end>";
            var a = i < actual.Count ? actual[i] : "<end>";
            if (w != a)
            {
                Assert.Fail($"{what} differs at line {i + 1}: expected '{w}', actual '{a}'\n--- actual ---\n{string.Join('\n', actual)}\n{result}");
            }
        }
    }

    // Lines that carry no protocol result: logging, banners, connection state, times and absolute zxids.
    [GeneratedRegex(@"^(SLF4J:|WATCHER::|WatchedEvent state:|Connecting to |Welcome to ZooKeeper!|JLine support|\d{4}-\d\d-\d\d[ T]|(cZxid|mZxid|pZxid|ctime|mtime) = |\s*(ctime|mtime) ?=|\s*(czxid|mzxid)=)")]
    private static partial Regex Noise();

    [GeneratedRegex(@"^(Batch mode:|Creating \[|Watcher SESSION_EVENT|Got a new session id|time = \d+ msec)")]
    private static partial Regex CNoise();

    [GeneratedRegex(@"ephemeralOwner = 0x[1-9a-f][0-9a-f]*")]
    private static partial Regex OwnerRegex();
}
