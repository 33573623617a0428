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
    public void Parse_UnknownAndEnsembleKeys_WarnWithKeyAndLine()
    {
        var result = ZooCfgParser.Parse("dataDir=/d\nfrobnicate=1\nserver.1=localhost:2888:3888\ninitLimit=5\n", "zoo.cfg");

        Assert.True(result.Ok);
        Assert.Equal(2, result.Warnings.Count);
        Assert.Equal(("frobnicate", "zoo.cfg:2"), (result.Warnings[0].Key, result.Warnings[0].Location));
        Assert.Contains("unknown key", result.Warnings[0].Message, StringComparison.Ordinal);
        Assert.Equal(("server.1", "zoo.cfg:3"), (result.Warnings[1].Key, result.Warnings[1].Location));
        Assert.Contains("ensemble not supported yet", result.Warnings[1].Message, StringComparison.Ordinal);
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
