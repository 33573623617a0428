using System.Globalization;
using System.Text.RegularExpressions;

namespace Zooflow.TestKit.Servers;

/// <summary>
/// Finds, in one Apache ZooKeeper member's files, the evidence of a known ZooKeeper 3.8.0 data-loss bug, so that a
/// fault test can tell that reference bug from a bug of its own harness.
/// </summary>
/// <remarks>
/// <para>ZooKeeper 3.8.0 loses transactions on a follower whose connection to the leader breaks while its SyncThread
/// still holds proposals to log: the SyncThread dies on a NullPointerException in <c>SendAckRequestProcessor</c>
/// (<c>learner.sock</c> is null) and the follower shuts down without stopping it properly, so proposals end up applied
/// in memory but never written, or written but never applied, and the next sync with the leader starts from the wrong
/// zxid; the member then lacks committed transactions for good (ZOOKEEPER-4541, ZOOKEEPER-4712; fixed upstream in 2024
/// by apache/zookeeper#2154, after Debian's 3.8.0).</para>
/// <para>Two kinds of evidence: the SyncThread crash in <c>server.log</c> (the trigger), and a zxid gap in a transaction
/// log (the result): within one log file and one epoch, zxids must be consecutive, since a leader numbers its proposals
/// 1, 2, 3... per epoch, every learner logs them in that order, and a DIFF sync continues right after the learner's last
/// zxid.</para>
/// </remarks>
public static partial class ZooKeeperKnownBugs
{
    /// <summary>Every piece of evidence in the member directory <paramref name="memberDir"/> (its <c>server.log</c> and
    /// <c>data/version-2/log.*</c>), one line each; empty when there is none.</summary>
    public static async Task<IReadOnlyList<string>> FindEvidenceAsync(string memberDir, CancellationToken cancellationToken)
    {
        var evidence = new List<string>(FindSyncThreadCrashes(Path.Combine(memberDir, "server.log")));
        evidence.AddRange(await FindTxnLogGapsAsync(Path.Combine(memberDir, "data"), cancellationToken));
        return evidence;
    }

    /// <summary>The <c>server.log</c> lines where a SyncThread died (ZooKeeperCriticalThread), with the exception line
    /// after each, e.g. <c>server.log:2517: ... Severe unrecoverable error, from thread : SyncThread:4 /
    /// java.lang.NullPointerException: ... "this.learner.sock" is null</c>.</summary>
    public static IReadOnlyList<string> FindSyncThreadCrashes(string serverLogPath)
    {
        var crashes = new List<string>();
        if (!File.Exists(serverLogPath))
        {
            return crashes;
        }

        var lines = File.ReadAllLines(serverLogPath);
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].Contains("Severe unrecoverable error, from thread : SyncThread", StringComparison.Ordinal))
            {
                var cause = i + 1 < lines.Length ? lines[i + 1].Trim() : "";
                crashes.Add($"server.log:{i + 1}: {lines[i].Trim()} / {cause}");
            }
        }

        return crashes;
    }

    /// <summary>Every within-epoch zxid jump in the <c>log.*</c> files under <paramref name="dataDir"/>, read with
    /// ZooKeeper's own <c>TxnLogToolkit</c>, one line each, e.g.
    /// <c>log.300000151: 0x90000025f is followed by 0x900000264 (4 zxids never logged)</c>.</summary>
    public static async Task<IReadOnlyList<string>> FindTxnLogGapsAsync(string dataDir, CancellationToken cancellationToken)
    {
        var gaps = new List<string>();
        var versionDir = Path.Combine(dataDir, "version-2");
        if (!Directory.Exists(versionDir))
        {
            return gaps;
        }

        var classpath = string.Join(':', TestServer.ZooKeeperJar, TestServer.ZooKeeperJuteJar, "/usr/share/java/slf4j-api.jar",
            "/usr/share/java/slf4j-nop.jar", "/usr/share/java/commons-cli.jar");
        foreach (var file in Directory.GetFiles(versionDir, "log.*").Order(StringComparer.Ordinal))
        {
            var result = await ProcessRunner.RunAsync("/usr/bin/java",
                ["-Xmx256m", "-cp", classpath, "org.apache.zookeeper.server.persistence.TxnLogToolkit", "-d", file],
                TimeSpan.FromMinutes(2), cancellationToken: cancellationToken);
            long? previous = null;
            foreach (Match match in ZxidPattern().Matches(result.StandardOutput))
            {
                var zxid = long.Parse(match.Groups[1].ValueSpan, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (previous is { } p && zxid >> 32 == p >> 32 && zxid > p + 1)
                {
                    gaps.Add($"{Path.GetFileName(file)}: 0x{p:x} is followed by 0x{zxid:x} ({zxid - p - 1} zxids never logged)");
                }

                previous = zxid;
            }
        }

        return gaps;
    }

    [GeneratedRegex(@" zxid 0x([0-9a-f]+) ", RegexOptions.CultureInvariant)]
    private static partial Regex ZxidPattern();
}
