using System.Text;
using Xunit;

namespace Zooflow.Storage.Tests;

/// <summary>CRC-32C check values from RFC 3720 (iSCSI) appendix B.4 and the common "123456789" check value.</summary>
public sealed class Crc32CTests
{
    [Fact]
    public void Compute_CheckString_MatchesCatalogueValue() =>
        Assert.Equal(0xE3069283u, Crc32C.Compute(Encoding.ASCII.GetBytes("123456789")));

    [Fact]
    public void Compute_Rfc3720Vectors_Match()
    {
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32]));
        Assert.Equal(0x62A8AB43u, Crc32C.Compute(Enumerable.Repeat((byte)0xFF, 32).ToArray()));
        Assert.Equal(0x46DD794Eu, Crc32C.Compute(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray()));
        Assert.Equal(0x113FDB5Cu, Crc32C.Compute(Enumerable.Range(0, 32).Select(i => (byte)(31 - i)).ToArray()));
    }

    [Fact]
    public void Update_SplitAtEveryOffset_EqualsOneShot()
    {
        var data = Enumerable.Range(0, 77).Select(i => (byte)(i * 7)).ToArray();
        var whole = Crc32C.Compute(data);
        for (var split = 0; split <= data.Length; split++)
        {
            var crc = Crc32C.Update(Crc32C.Update(Crc32C.Initial, data.AsSpan(0, split)), data.AsSpan(split));
            Assert.Equal(whole, Crc32C.Finish(crc));
        }
    }
}
