using System.Net;
using Zooflow.Server.Admin;
using Zooflow.Server.Configuration;

namespace Zooflow.Server.Tests;

/// <summary>zoo.cfg parsing (ZooKeeper Administrator's Guide, "Configuration Parameters").</summary>
public sealed class ZooCfgParserTests
{
    [Fact]
    public void Parse_TypicalFile_ReadsEveryKey()
    {
        var result = ZooCfgParser.Parse("""
            # a comment
            tickTime=2000
            dataDir=/var/lib/zk
            dataLogDir = /var/log/zk
            clientPort=2182
            clientPortAddress=127.0.0.1
            maxClientCnxns=0
            minSessionTimeout=3000
            maxSessionTimeout=50000
            4lw.commands.whitelist=ruok, mntr
            extendedTypesEnabled=true
            jute.maxbuffer=2097152
            DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=
            snapCount=5000
            autopurge.snapRetainCount=5
            autopurge.purgeInterval=1
            znode.container.checkIntervalMs=500
            """, "zoo.cfg");

        Assert.True(result.Ok, string.Join("; ", result.Errors));
        Assert.Empty(result.Warnings);
        var o = result.Options!;
        Assert.Equal(2000, o.TickTimeMs);
        Assert.Equal("/var/lib/zk", o.DataDir);
        Assert.Equal("/var/log/zk", o.DataLogDir);
        Assert.Equal(2182, o.ClientPort);
        Assert.Equal(IPAddress.Loopback, o.ClientPortAddress);
        Assert.Equal(0, o.MaxClientCnxns);
        Assert.Equal(3000, o.EffectiveMinSessionTimeoutMs);
        Assert.Equal(50000, o.EffectiveMaxSessionTimeoutMs);
        Assert.True(o.IsFourLetterWordEnabled("ruok"));
        Assert.True(o.IsFourLetterWordEnabled("mntr"));
        Assert.True(o.IsFourLetterWordEnabled("srvr"));
        Assert.False(o.IsFourLetterWordEnabled("stat"));
        Assert.True(o.ExtendedTypesEnabled);
        Assert.Equal(2097152, o.JuteMaxBufferBytes);
        Assert.Equal("super:D/InIHSb7yEEbrWz8b9l71RjZJU=", o.SuperDigest);
        Assert.Equal(5000, o.SnapCount);
        Assert.Equal(5, o.AutopurgeSnapRetainCount);
        Assert.Equal(1, o.AutopurgePurgeIntervalHours);
        Assert.Equal(500, o.ContainerCheckIntervalMs);
    }

    [Fact]
    public void Parse_MinimalFile_AppliesZooKeeperDefaults()
    {
        var result = ZooCfgParser.Parse("dataDir=/tmp/zk\ntickTime=1000\n", "zoo.cfg");

        var o = result.Options!;
        Assert.Equal(2181, o.ClientPort);
        Assert.Equal(IPAddress.Any, o.ClientPortAddress);
        Assert.Equal(60, o.MaxClientCnxns);
        Assert.Equal(2000, o.EffectiveMinSessionTimeoutMs);
        Assert.Equal(20000, o.EffectiveMaxSessionTimeoutMs);
        Assert.Equal(1048575, o.JuteMaxBufferBytes);
        Assert.Equal(60000, o.ContainerCheckIntervalMs);
        Assert.True(o.IsFourLetterWordEnabled("srvr"));
        Assert.False(o.IsFourLetterWordEnabled("ruok"));
    }

    [Fact]
    public void Parse_StarWhitelist_EnablesEveryCommand()
    {
        var o = ZooCfgParser.Parse("dataDir=/d\n4lw.commands.whitelist=*\n", "zoo.cfg").Options!;

        Assert.All(FourLetterWords.All, c => Assert.True(o.IsFourLetterWordEnabled(c), c));
    }

    [Fact]
    public void Parse_SeveralBadValues_ReportsEveryErrorWithKeyLineValueAndAllowed()
    {
        var result = ZooCfgParser.Parse("""
            dataDir=/d
            tickTime=abc
            clientPort=70000
            maxClientCnxns=-1
            extendedTypesEnabled=maybe
            4lw.commands.whitelist=ruok,nope
            jute.maxbuffer=0
            clientPortAddress=not-an-ip
            DigestAuthenticationProvider.superDigest=nocolon
            """, "my.cfg");

        Assert.False(result.Ok);
        Assert.Null(result.Options);
        var byKey = result.Errors.ToDictionary(e => e.Key);
        Assert.Equal(8, result.Errors.Count);
        Assert.Equal("my.cfg:2", byKey["tickTime"].Location);
        Assert.Equal("abc", byKey["tickTime"].Value);
        Assert.Contains("positive integer", byKey["tickTime"].Allowed, StringComparison.Ordinal);
        Assert.Equal("my.cfg:3", byKey["clientPort"].Location);
        Assert.Contains("65535", byKey["clientPort"].Allowed, StringComparison.Ordinal);
        Assert.Equal("my.cfg:4", byKey["maxClientCnxns"].Location);
        Assert.Contains("true or false", byKey["extendedTypesEnabled"].Allowed, StringComparison.Ordinal);
        Assert.Contains("'nope'", byKey["4lw.commands.whitelist"].Allowed, StringComparison.Ordinal);
        Assert.Equal("my.cfg:7", byKey["jute.maxbuffer"].Location);
        Assert.Equal("my.cfg:8", byKey["clientPortAddress"].Location);
        Assert.Equal("my.cfg:9", byKey["DigestAuthenticationProvider.superDigest"].Location);
        Assert.Contains("my.cfg:2: tickTime=abc is invalid", byKey["tickTime"].ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("no", false)]
    [InlineData("yes", true)]
    public void Parse_ForceSync_YesOrNo(string value, bool expected)
    {
        var result = ZooCfgParser.Parse($"dataDir=/d\nforceSync={value}\n", "zoo.cfg");

        Assert.Equal(expected, result.Options!.ForceSync);
    }

    [Fact]
    public void Parse_ForceSyncGarbage_Error()
    {
        var error = Assert.Single(ZooCfgParser.Parse("dataDir=/d\nforceSync=maybe\n", "zoo.cfg").Errors);

        Assert.Equal(("forceSync", "zoo.cfg:2"), (error.Key, error.Location));
    }

    [Fact]
    public void Parse_MinAboveMaxSessionTimeout_Error()
    {
        var result = ZooCfgParser.Parse("dataDir=/d\nminSessionTimeout=9000\nmaxSessionTimeout=4000\n", "zoo.cfg");

        var error = Assert.Single(result.Errors);
        Assert.Equal("minSessionTimeout", error.Key);
        Assert.Contains("maxSessionTimeout (4000)", error.Allowed, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_MissingDataDir_Error()
    {
        var result = ZooCfgParser.Parse("tickTime=2000\n", "zoo.cfg");

        Assert.Equal("dataDir", Assert.Single(result.Errors).Key);
    }

    [Fact]
    public void Parse_UnknownKeyAndOneServerLine_WarnWithKeyAndLineAndRunStandalone()
    {
        var result = ZooCfgParser.Parse("dataDir=/d\nfrobnicate=1\nserver.1=localhost:2888:3888\ninitLimit=5\nclientPort=2181\n", "zoo.cfg");

        Assert.True(result.Ok);
        Assert.Null(result.Options!.Quorum);
        Assert.Equal(2, result.Warnings.Count);
        Assert.Equal(("frobnicate", "zoo.cfg:2"), (result.Warnings[0].Key, result.Warnings[0].Location));
        Assert.Contains("unknown key", result.Warnings[0].Message, StringComparison.Ordinal);
        Assert.Equal(("server.1", "zoo.cfg:3"), (result.Warnings[1].Key, result.Warnings[1].Location));
        Assert.Contains("running standalone", result.Warnings[1].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ThreeServersAndMyid_EnsembleMemberWithObserverAndClientPortFromItsLine()
    {
        var cfg = "dataDir=/d\ninitLimit=7\nsyncLimit=3\n" +
            "server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889;127.0.0.1:2182\nserver.3=127.0.0.1:2890:3890\n" +
            "server.4=127.0.0.1:2891:3891:observer\nzooflow.learnerSyncDiffMax=50\n";
        var result = ZooCfgParser.Parse(cfg, "zoo.cfg", path => path == Path.Combine("/d", "myid") ? "2\n" : null);

        Assert.True(result.Ok, string.Join("; ", result.Errors));
        var options = result.Options!;
        var quorum = Assert.IsType<QuorumOptions>(options.Quorum);
        Assert.Equal(2, quorum.MyId);
        Assert.Equal(2, options.ServerId);
        Assert.Equal(2182, options.ClientPort);
        Assert.Equal((7, 3), (quorum.InitLimit, quorum.SyncLimit));
        Assert.Equal([1L, 2, 3], quorum.VoterIds);
        Assert.Equal([4L], quorum.ObserverIds);
        Assert.Equal(50, options.LearnerSyncDiffMax);
    }

    [Fact]
    public void Parse_EnsembleMistakes_EveryErrorWithKeyAndLocation()
    {
        var cfg = "dataDir=/d\nclientPort=2181\nserver.1=127.0.0.1:2888\nserver.2=127.0.0.1:2889:3889:voter\nserver.3=127.0.0.1:2890:3890\nserver.4=127.0.0.1:2891:3891\n";
        var result = ZooCfgParser.Parse(cfg, "zoo.cfg", _ => "9\n");

        Assert.False(result.Ok);
        Assert.Contains(result.Errors, e => e.Key == "server.1" && e.Location == "zoo.cfg:3");
        Assert.Contains(result.Errors, e => e.Key == "server.2" && e.Location == "zoo.cfg:4" && e.Allowed.Contains("participant or observer", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Key == "myid" && e.Allowed.Contains("not in the ensemble", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_EnsembleWithoutMyid_ErrorNamesTheFile()
    {
        var result = ZooCfgParser.Parse("dataDir=/d\nclientPort=2181\nserver.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2\n", "zoo.cfg", _ => null);

        var error = Assert.Single(result.Errors);
        Assert.Equal(("myid", Path.Combine("/d", "myid")), (error.Key, error.Location));
        Assert.Contains("1, 2, 3", error.Allowed, StringComparison.Ordinal);
    }

    [Fact]
    public void NegotiateSessionTimeout_OutsideBounds_Clamped()
    {
        var o = ServerOptions.Default with { TickTimeMs = 1000 };

        Assert.Equal(2000, o.NegotiateSessionTimeoutMs(10));
        Assert.Equal(20000, o.NegotiateSessionTimeoutMs(999_999));
        Assert.Equal(5000, o.NegotiateSessionTimeoutMs(5000));
    }
}
