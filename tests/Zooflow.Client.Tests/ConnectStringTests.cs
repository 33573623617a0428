using Xunit;

namespace Zooflow.Client.Tests;

/// <summary>Connect-string parsing and chroot mapping as ZooKeeper's <c>ConnectStringParser</c> / <c>ClientCnxn</c> do it.</summary>
public sealed class ConnectStringTests
{
    [Fact]
    public void Parse_SeveralHostsWithChroot_HostsPortsAndChroot()
    {
        var parsed = ConnectString.Parse("a:1,b,127.0.0.1:3/app/x");
        Assert.Equal([("a", 1), ("b", 2181), ("127.0.0.1", 3)], parsed.Hosts);
        Assert.Equal("/app/x", parsed.Chroot);
    }

    [Fact]
    public void Parse_RootChroot_MeansNoChroot()
    {
        Assert.Null(ConnectString.Parse("h:1/").Chroot);
        Assert.Null(ConnectString.Parse("h:1").Chroot);
    }

    [Theory]
    [InlineData("")]
    [InlineData("h:0")]
    [InlineData("h:x")]
    [InlineData("h:1/a/")]
    [InlineData("h:1/a//b")]
    [InlineData("/only-chroot")]
    public void Parse_Malformed_ThrowsArgumentException(string text)
    {
        Assert.ThrowsAny<ArgumentException>(() => ConnectString.Parse(text));
    }

    [Fact]
    public void ChrootMapping_RoundTripsAndLeavesForeignPathsAlone()
    {
        var parsed = ConnectString.Parse("h:1/app");
        Assert.Equal("/app", parsed.ToServerPath("/"));
        Assert.Equal("/app/a/b", parsed.ToServerPath("/a/b"));
        Assert.Equal("/", parsed.ToClientPath("/app"));
        Assert.Equal("/a/b", parsed.ToClientPath("/app/a/b"));
        Assert.Equal("/apple", parsed.ToClientPath("/apple"));
        Assert.Equal("/other", parsed.ToClientPath("/other"));
    }

    [Fact]
    public void DigestAuth_Digest_MatchesZooKeepersDigestAuthenticationProvider()
    {
        // Value computed by org.apache.zookeeper.server.auth.DigestAuthenticationProvider.generateDigest("super:test").
        Assert.Equal("super:D/InIHSb7yEEbrWz8b9l71RjZJU=", DigestAuth.Digest("super", "test"));
    }
}
