using System.Globalization;
using System.Text.RegularExpressions;

namespace Zooflow.TestKit.Servers;

/// <summary>
/// Reads Apache ZooKeeper's transaction logs with its own <c>TxnLogToolkit</c> to find a member that skipped
/// transactions: within one log file and one epoch, zxids must be consecutive (a leader numbers its proposals
/// 1, 2, 3... per epoch, every learner logs them in that order, and a DIFF sync continues right after the learner's last
/// zxid), so a jump means the member never logged transactions that its ensemble committed.
/// </summary>
/// <remarks>
/// ZooKeeper 3.8.0 does this when a follower's connection to the leader breaks while its SyncThread still holds
/// proposals to log: the SyncThread dies on a NullPointerException in <c>SendAckRequestProcessor</c>, the proposals are
/// applied in memory but never written, the follower reports them as its last zxid, and the leader's next DIFF starts
/// after them; after a restart the member lacks them for good (ZOOKEEPER-4541, ZOOKEEPER-4712; fixed upstream in 2024 by
/// apache/zookeeper#2154, after Debian's 3.8.0). The
/// Jepsen-style test uses this to tell that known reference bug from a harness bug.
/// </remarks>
public static partial class ZooKeeperTxnLogs
{
    /// <summary>Every within-epoch zxid jump in the <c>log.*</c> files under <paramref name="dataDir"/>, one line each, e.g.
    /// <c>log.300000151: 0x90000025f is followed by 0x900000264 (4 zxids never logged)</c>.</summary>
    public static async Task<IReadOnlyList<string>> FindGapsAsync(string dataDir, CancellationToken cancellationToken)
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
