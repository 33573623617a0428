using System.Text.RegularExpressions;
using Xunit;
using Zooflow.Client.Tests.Infrastructure;
using Zooflow.TestKit;

namespace Zooflow.Client.Tests;

/// <summary>
/// <c>zooflow shell</c> against zkCli 3.8 (Debian's zkCli.sh): the same script, run by both through stdin on the same
/// server under fresh chroots, must print the same lines (after masking zxids and times, which differ between runs), and
/// one-shot mode must print the command's output and exit 0, or one error line and exit 1.
/// </summary>
public sealed partial class ShellTests(ServerPool pool)
{
    private const string ZkCli = "/usr/share/zookeeper/bin/zkCli.sh";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private const string Script = """
        create /a hello
        create /a again
        create -e /e eph
        create -s /s- x
        ls /
        get -s /a
        set /a world
        set -v 7 /a nope
        get /a
        get /nope
        stat /a
        getAcl /a
        setAcl /a world:anyone:cdr
        getAcl -s /a
        sync /a
        getAllChildrenNumber /
        create /n x
        create /n/c y
        delete /n
        delete -v 3 /n/c
        ls -R /n
        deleteall /n
        ls /n
        create -e /e/child z
        ls -s /
        addauth digest u:p
        whoami
        """;

    private static void RequireCli()
    {
        if (!File.Exists(TestServer.ZooflowCli))
        {
            Assert.Skip($"Zooflow CLI not built at {TestServer.ZooflowCli}");
        }
    }

    [Theory]
    [MemberData(nameof(ServerPool.Kinds), MemberType = typeof(ServerPool))]
    public async Task Script_ThroughStdin_SameOutputAsZkCli(ServerKind kind)
    {
        RequireCli();
        var server = await pool.GetAsync(kind);
        var (_, _, rootA) = await pool.NewRootAsync(kind);
        var (_, _, rootB) = await pool.NewRootAsync(kind);
        var script = Script.Replace("\r", "", StringComparison.Ordinal) + "\nquit\n";

        var zkCli = await ProcessRunner.RunAsync(ZkCli, ["-server", server.ConnectString + rootA], Timeout, script, cancellationToken: Ct);
        var ours = await ProcessRunner.RunAsync("dotnet", [TestServer.ZooflowCli, "shell", "-server", server.ConnectString + rootB], Timeout, script, cancellationToken: Ct);

        Assert.Equal(0, ours.ExitCode);
        var expectedOut = Normalize(zkCli.StandardOutput);
        var actualOut = Normalize(ours.StandardOutput);
        Assert.Contains("[a, e, s-0000000002]", expectedOut); // the reference really ran the script
        Assert.Equal(expectedOut, actualOut);
        Assert.Equal(Normalize(zkCli.StandardError), Normalize(ours.StandardError));
    }

    [Theory]
    [MemberData(nameof(ServerPool.Kinds), MemberType = typeof(ServerPool))]
    public async Task OneShot_CommandsAndErrors_OutputAndExitCodeLikeZkCli(ServerKind kind)
    {
        RequireCli();
        var (_, connect, _) = await pool.NewRootAsync(kind);

        async Task<ProcessResult> ShellAsync(params string[] args) =>
            await ProcessRunner.RunAsync("dotnet", [TestServer.ZooflowCli, "shell", "-server", connect, .. args], Timeout, cancellationToken: Ct);

        var created = await ShellAsync("create", "/x", "value");
        Assert.Equal(0, created.ExitCode);
        Assert.Equal("Created /x\n", created.StandardError);
        var get = await ShellAsync("get", "/x");
        Assert.Equal((0, "value\n"), (get.ExitCode, get.StandardOutput));
        var ls = await ShellAsync("ls", "-s", "/");
        Assert.Equal(0, ls.ExitCode);
        Assert.StartsWith("[x]\ncZxid = 0x", ls.StandardOutput);
        Assert.Contains("\nnumChildren = 1\n", ls.StandardOutput);
        var missing = await ShellAsync("get", "/nope");
        Assert.Equal((1, "", "Node does not exist: /nope\n"), (missing.ExitCode, missing.StandardOutput, missing.StandardError));
        var badPath = await ShellAsync("get", "nope");
        Assert.Equal((1, "Path must start with / character\n"), (badPath.ExitCode, badPath.StandardError));
        var unknown = await ShellAsync("frobnicate");
        Assert.Equal(1, unknown.ExitCode);
        Assert.EndsWith("Command not found: Command not found frobnicate\n", unknown.StandardError);

        // The reference for the one-shot forms: zkCli prints the same result line.
        var reference = await ProcessRunner.RunAsync(ZkCli, ["-server", connect, "get", "/x"], Timeout, cancellationToken: Ct);
        Assert.Contains("value", Normalize(reference.StandardOutput));
    }

    /// <summary>Drops zkCli's banner, log and watcher lines and masks values that differ between two runs.</summary>
    private static List<string> Normalize(string text)
    {
        var lines = new List<string>();
        var skipNext = 0;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (skipNext > 0)
            {
                skipNext--;
                continue;
            }

            if (line == "WATCHER::")
            {
                skipNext = 2; // blank line, then the event
                continue;
            }

            if (line.Length == 0 || line.StartsWith("Connecting to ", StringComparison.Ordinal) || line == "Welcome to ZooKeeper!"
                || line == "JLine support is disabled" || line.StartsWith("SLF4J", StringComparison.Ordinal) || LogLine().IsMatch(line))
            {
                continue;
            }

            line = ZxidLine().Replace(line, "$1 = 0x?");
            line = TimeLine().Replace(line, "$1 = ?");
            line = DigestId().Replace(line, "$1?");
            lines.Add(line);
        }

        return lines;
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[ T]")]
    private static partial Regex LogLine();

    [GeneratedRegex(@"^(cZxid|mZxid|pZxid|ephemeralOwner) = 0x[0-9a-f]+$")]
    private static partial Regex ZxidLine();

    [GeneratedRegex(@"^(ctime|mtime) = .*$")]
    private static partial Regex TimeLine();

    [GeneratedRegex(@"^(digest: u)$")]
    private static partial Regex DigestId();
}
