using System.Diagnostics.CodeAnalysis;

namespace Zooflow.Jute;

/// <summary>Throw helpers for decoding errors; each message names the field, the offset and the bad value.</summary>
internal static class JuteThrow
{
    [DoesNotReturn]
    public static void Truncated(string field, long offset, int needed, long remaining) =>
        throw new ProtocolException(field, offset, $"needs {needed} bytes at offset {offset} but only {remaining} remain");

    [DoesNotReturn]
    public static void NegativeLength(string field, string what, long offset, int length) =>
        throw new ProtocolException(field, offset, $"{what} {length} at offset {offset} is negative");

    [DoesNotReturn]
    public static void LengthExceedsRemaining(string field, string what, long offset, int length, long remaining) =>
        throw new ProtocolException(field, offset, $"{what} {length} at offset {offset} exceeds remaining {remaining} bytes");

    [DoesNotReturn]
    public static void LengthExceedsMax(string field, string what, long offset, int length, int max) =>
        throw new ProtocolException(field, offset, $"{what} {length} at offset {offset} exceeds jute.maxbuffer {max}");

    [DoesNotReturn]
    public static void CountExceedsRemaining(string field, long offset, int count, long remaining, int minElementBytes) =>
        throw new ProtocolException(field, offset,
            $"vector count {count} at offset {offset} exceeds remaining {remaining} bytes (each element needs at least {minElementBytes})");

    [DoesNotReturn]
    public static void UnexpectedType(string field, long offset, int type) =>
        throw new ProtocolException(field, offset, $"unsupported operation type {type} at offset {offset}");

    [DoesNotReturn]
    public static void TrailingBytes(string record, long offset, long remaining) =>
        throw new ProtocolException(record, offset, $"{remaining} unexpected trailing bytes at offset {offset}");

    [DoesNotReturn]
    public static T UnexpectedType<T>(string field, long offset, int type) =>
        throw new ProtocolException(field, offset, $"unsupported operation type {type} at offset {offset}");
}
