using System.Buffers;
using System.Buffers.Binary;
using Xunit;
using Zooflow.TestKit;

namespace Zooflow.Jute.Tests;

/// <summary>
/// Randomized mutation of valid frames (bit flips, byte overwrites with boundary values, inserted and deleted bytes,
/// truncation): decoding must either succeed or throw <see cref="ProtocolException"/> — never another exception, never a
/// hang. The seed is fixed so that a failure replays exactly.
/// </summary>
public sealed class MutationTests
{
    private const int Seed = 20261125;
    private const int IterationsPerSample = 1500;
    private const int MaxFrameBytes = 1 << 16;

    private static readonly byte[] Interesting = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff];

    [Fact]
    public async Task Decode_MutatedFrames_SucceedsOrThrowsProtocolExceptionOnly()
    {
        // Run off the test thread with a bound, so a decoder that loops forever fails the test instead of hanging it.
        var run = Task.Run(() => RunAll(), TestContext.Current.CancellationToken);
        var (decoded, rejected) = await run.WaitAsync(TimeSpan.FromMinutes(2), TestContext.Current.CancellationToken);

        Assert.True(decoded > 0, "some mutations (e.g. flipped payload bytes) must still decode");
        Assert.True(rejected > 0, "some mutations must be rejected");
    }

    private static (int Decoded, int Rejected) RunAll()
    {
        var random = new Random(Seed);
        var decoded = 0;
        var rejected = 0;
        foreach (var sample in Samples.All)
        {
            var body = sample.Bytes();
            var framed = new byte[body.Length + 4];
            BinaryPrimitives.WriteInt32BigEndian(framed, body.Length);
            body.CopyTo(framed, 4);

            for (var iteration = 0; iteration < IterationsPerSample; iteration++)
            {
                var mutated = Mutate(framed, random);
                try
                {
                    var buffer = iteration % 7 == 0 ? Fragmenter.OneBytePerSegment(mutated) : new ReadOnlySequence<byte>(mutated);
                    while (Frame.TryRead(ref buffer, MaxFrameBytes, out var frame))
                    {
                        sample.DecodeAndReserialize(frame, MaxFrameBytes);
                    }

                    decoded++;
                }
                catch (ProtocolException)
                {
                    rejected++;
                }
                catch (Exception e)
                {
                    Assert.Fail($"seed {Seed}, sample {sample.Name}, iteration {iteration}, input {Convert.ToHexString(mutated)}: {e}");
                }
            }
        }

        return (decoded, rejected);
    }

    private static byte[] Mutate(byte[] input, Random random)
    {
        var bytes = new List<byte>(input);
        var mutations = 1 + random.Next(3);
        for (var m = 0; m < mutations; m++)
        {
            var at = bytes.Count == 0 ? 0 : random.Next(bytes.Count);
            switch (random.Next(6))
            {
                case 0 when bytes.Count > 0:
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1 when bytes.Count > 0:
                    bytes[at] = Interesting[random.Next(Interesting.Length)];
                    break;
                case 2:
                    bytes.Insert(at, (byte)random.Next(256));
                    break;
                case 3 when bytes.Count > 0:
                    bytes.RemoveAt(at);
                    break;
                case 4 when bytes.Count > 0:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                case 5 when bytes.Count >= 4:
                    // Overwrite an aligned int with a boundary value: lengths and counts are the dangerous fields.
                    var start = Math.Min(at, bytes.Count - 4);
                    var value = random.Next(4) switch { 0 => -1, 1 => int.MaxValue, 2 => int.MinValue, _ => random.Next(0, 1 << 20) };
                    var four = new byte[4];
                    BinaryPrimitives.WriteInt32BigEndian(four, value);
                    for (var i = 0; i < 4; i++)
                    {
                        bytes[start + i] = four[i];
                    }

                    break;
            }
        }

        return [.. bytes];
    }
}
