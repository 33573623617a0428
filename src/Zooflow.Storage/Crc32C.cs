using System.Buffers.Binary;
using System.Numerics;

namespace Zooflow.Storage;

/// <summary>
/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every log record and snapshot.
/// </summary>
/// <remarks>
/// Why CRC-32C rather than ZooKeeper's Adler-32 or zlib's CRC-32: it detects all burst errors up to 32 bits, it is what
/// etcd's WAL, ext4 metadata and iSCSI use, and <see cref="BitOperations.Crc32C(uint, ulong)"/> maps it to the SSE4.2 /
/// ARMv8 CRC instruction (a software table otherwise), so no package is needed. Convention: start from
/// <see cref="Initial"/>, feed with <see cref="Update"/>, finish with <see cref="Finish"/>; check value of "123456789" is
/// 0xE3069283.
/// </remarks>
public static class Crc32C
{
    /// <summary>The starting register value (all ones).</summary>
    public const uint Initial = 0xFFFFFFFFu;

    /// <summary>Feeds <paramref name="data"/> into a running register.</summary>
    /// <remarks>Fully optimized from the first call: recovery runs it over every byte of a log at start-up, before tiered
    /// compilation would have promoted it.</remarks>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        while (data.Length >= sizeof(ulong))
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[sizeof(ulong)..];
        }

        foreach (var b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return crc;
    }

    /// <summary>Turns a running register into the checksum (final XOR).</summary>
    public static uint Finish(uint crc) => ~crc;

    /// <summary>The checksum of one contiguous span.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Finish(Update(Initial, data));
}
