using System.Buffers;
using Zooflow.Common;

namespace Zooflow.Jute;

/// <summary>A record that can write itself in jute encoding.</summary>
public interface IJuteWritable
{
    /// <summary>Writes the record's fields in wire order.</summary>
    void Write(ref JuteWriter writer);
}

/// <summary>A record that can read and write itself in jute encoding.</summary>
/// <typeparam name="TSelf">The record type.</typeparam>
public interface IJuteRecord<TSelf> : IJuteWritable
    where TSelf : IJuteRecord<TSelf>
{
    /// <summary>Reads one record from <paramref name="reader"/>; throws <see cref="ProtocolException"/> on malformed input.</summary>
    static abstract TSelf Read(ref JuteReader reader);
}

/// <summary>Whole-buffer helpers over <see cref="IJuteRecord{TSelf}"/>: serialize a record to an array, decode one from bytes.</summary>
public static class JuteSerializer
{
    /// <summary>Serializes <paramref name="record"/> into a new array (no length prefix).</summary>
    public static byte[] Serialize<T>(T record)
        where T : IJuteWritable
    {
        using var buffer = new PooledBufferWriter();
        var writer = new JuteWriter(buffer);
        record.Write(ref writer);
        return buffer.ToArray();
    }

    /// <summary>Appends <paramref name="record"/> to <paramref name="output"/> (no length prefix).</summary>
    public static void Serialize<T>(T record, IBufferWriter<byte> output)
        where T : IJuteWritable
    {
        var writer = new JuteWriter(output);
        record.Write(ref writer);
    }

    /// <summary>Decodes exactly one <typeparamref name="T"/> that must occupy the whole buffer.</summary>
    /// <exception cref="ProtocolException">The bytes are malformed, truncated, or longer than the record.</exception>
    public static T Deserialize<T>(ReadOnlySequence<byte> bytes, int maxBufferBytes = JuteReader.DefaultMaxBufferBytes)
        where T : IJuteRecord<T>
    {
        var reader = new JuteReader(bytes, maxBufferBytes);
        var record = T.Read(ref reader);
        reader.ExpectEnd(typeof(T).Name);
        return record;
    }

    /// <summary>Decodes exactly one <typeparamref name="T"/> that must occupy the whole buffer.</summary>
    public static T Deserialize<T>(ReadOnlyMemory<byte> bytes, int maxBufferBytes = JuteReader.DefaultMaxBufferBytes)
        where T : IJuteRecord<T> => Deserialize<T>(new ReadOnlySequence<byte>(bytes), maxBufferBytes);
}
