using System.Text;
using Zooflow.DataTree;
using Zooflow.Jute;

namespace Zooflow.Server.Persistence;

/// <summary>
/// The body of a Zooflow snapshot file (the <c>SnapshotStore</c> adds header, length, CRC and trailer). Format, all integers
/// little-endian (<see cref="BinaryWriter"/>), strings length-prefixed UTF-8:
/// <code>
/// body     := "ZFTR":u32 version=1:i32 sessionCount:i32 (sessionId:i64 timeoutMs:i32)* node* end
/// node     := 1:u8 path:string data:(len:i32 bytes) aclCount:i32 (perms:i32 scheme:string id:string)*
///             czxid:i64 mzxid:i64 pzxid:i64 ctime:i64 mtime:i64 version:i32 cversion:i32 aversion:i32
///             rawEphemeralOwner:i64
/// end      := 0:u8 nodeCount:i64
/// </code>
/// Nodes come in pre-order (parents first; siblings in any order). The raw ephemeralOwner carries the kind: 0 persistent, long.MinValue container,
/// 0xFF.. | ttl for TTL nodes, else the owning session. The parent's cversion carries the sequential-node counter.
/// </summary>
/// <remarks>The snapshot may be fuzzy (nodes collected over several loop turns while writes go on); its zxid is the last
/// applied zxid when it started and replay of the log after it converges (ZnodeTree.Apply is idempotent over it).</remarks>
public static class TreeSnapshot
{
    /// <summary>"ZFTR".</summary>
    public const uint Magic = 0x5A465452;

    /// <summary>Body format version.</summary>
    public const int Version = 1;

    /// <summary>Writes the header and the sessions.</summary>
    public static void WriteHeader(BinaryWriter writer, IReadOnlyCollection<KeyValuePair<long, int>> sessions)
    {
        writer.Write(Magic);
        writer.Write(Version);
        writer.Write(sessions.Count);
        foreach (var (id, timeout) in sessions)
        {
            writer.Write(id);
            writer.Write(timeout);
        }
    }

    /// <summary>Writes one node.</summary>
    public static void WriteNode(BinaryWriter writer, ZnodeView node)
    {
        writer.Write((byte)1);
        writer.Write(node.Path);
        var s = node.Stat;
        // the stored count of child creates, not the client view in Stat
        WriteFields(writer, node.Data, node.Acl, s.Czxid, s.Mzxid, s.Pzxid, s.Ctime, s.Mtime, s.Version, node.StoredCversion, s.Aversion,
            node.RawEphemeralOwner);
    }

    /// <summary>
    /// Writes one node a <see cref="FuzzyTreeWalk"/> collected, in the same bytes as <see cref="WriteNode(BinaryWriter, ZnodeView)"/>;
    /// the path is encoded from parent path and name without building the string. <paramref name="scratch"/> is reused
    /// between calls (grown as needed).
    /// </summary>
    public static void WriteNode(BinaryWriter writer, in NodeRecord node, ref byte[] scratch)
    {
        writer.Write((byte)1);
        WritePath(writer, node.ParentPath, node.Name, ref scratch);
        WriteFields(writer, node.Data, node.Acl, node.Czxid, node.Mzxid, node.Pzxid, node.Ctime, node.Mtime, node.Version, node.StoredCversion,
            node.Aversion, node.RawEphemeralOwner);
    }

    // BinaryWriter.Write(string)'s encoding (7-bit length prefix, UTF-8) of parent + "/" + name.
    private static void WritePath(BinaryWriter writer, string? parentPath, string name, ref byte[] scratch)
    {
        if (parentPath is null)
        {
            writer.Write("/");
            return;
        }

        var prefix = parentPath == "/" ? "" : parentPath;
        var max = Encoding.UTF8.GetMaxByteCount(prefix.Length + 1 + name.Length);
        if (scratch.Length < max)
        {
            scratch = new byte[Math.Max(max, scratch.Length * 2)];
        }

        var length = Encoding.UTF8.GetBytes(prefix, scratch);
        scratch[length++] = (byte)'/';
        length += Encoding.UTF8.GetBytes(name, scratch.AsSpan(length));
        writer.Write7BitEncodedInt(length);
        writer.Write(scratch, 0, length);
    }

    private static void WriteFields(BinaryWriter writer, byte[] data, IReadOnlyList<Acl> acls, long czxid, long mzxid, long pzxid, long ctime,
        long mtime, int version, int storedCversion, int aversion, long rawEphemeralOwner)
    {
        writer.Write(data.Length);
        writer.Write(data);
        writer.Write(acls.Count);
        foreach (var acl in acls)
        {
            writer.Write((int)acl.Perms);
            writer.Write(acl.Id.Scheme);
            writer.Write(acl.Id.Ident);
        }

        writer.Write(czxid);
        writer.Write(mzxid);
        writer.Write(pzxid);
        writer.Write(ctime);
        writer.Write(mtime);
        writer.Write(version);
        writer.Write(storedCversion);
        writer.Write(aversion);
        writer.Write(rawEphemeralOwner);
    }

    /// <summary>Writes the end marker.</summary>
    public static void WriteEnd(BinaryWriter writer, long nodeCount)
    {
        writer.Write((byte)0);
        writer.Write(nodeCount);
    }

    /// <summary>Writes a whole, consistent snapshot of <paramref name="tree"/> (the caller owns the tree meanwhile).</summary>
    public static void Write(Stream stream, ZnodeTree tree)
    {
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        WriteHeader(writer, [.. tree.Sessions]);
        long count = 0;
        foreach (var node in tree.EnumerateNodes())
        {
            WriteNode(writer, node);
            count++;
        }

        WriteEnd(writer, count);
        writer.Flush();
    }

    /// <summary>One node as read back.</summary>
    public readonly record struct Node(string Path, byte[] Data, IReadOnlyList<Acl> Acl, Stat Stat, long RawEphemeralOwner);

    /// <summary>Reads a body: <paramref name="onSession"/> per session, then <paramref name="onNode"/> per node in order.</summary>
    /// <exception cref="InvalidDataException">The body is not a valid tree snapshot.</exception>
    public static long Read(Stream stream, Action<long, int> onSession, Action<Node> onNode)
    {
        using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        try
        {
            if (reader.ReadUInt32() != Magic)
            {
                throw new InvalidDataException("snapshot body: bad magic (not a Zooflow tree snapshot)");
            }

            var version = reader.ReadInt32();
            if (version != Version)
            {
                throw new InvalidDataException($"snapshot body: unsupported version {version}");
            }

            var sessions = reader.ReadInt32();
            if (sessions < 0)
            {
                throw new InvalidDataException($"snapshot body: negative session count {sessions}");
            }

            for (var i = 0; i < sessions; i++)
            {
                var id = reader.ReadInt64();
                var timeout = reader.ReadInt32();
                onSession(id, timeout);
            }

            long count = 0;
            while (true)
            {
                var tag = reader.ReadByte();
                if (tag == 0)
                {
                    var expected = reader.ReadInt64();
                    if (expected != count)
                    {
                        throw new InvalidDataException($"snapshot body: {count} nodes read, end marker says {expected}");
                    }

                    return count;
                }

                if (tag != 1)
                {
                    throw new InvalidDataException($"snapshot body: bad node tag {tag} after {count} nodes");
                }

                var path = reader.ReadString();
                var length = reader.ReadInt32();
                if (length < 0)
                {
                    throw new InvalidDataException($"snapshot body: negative data length at '{path}'");
                }

                var data = reader.ReadBytes(length);
                var aclCount = reader.ReadInt32();
                if (aclCount < 0)
                {
                    throw new InvalidDataException($"snapshot body: negative ACL count at '{path}'");
                }

                var acl = new Acl[aclCount];
                for (var i = 0; i < aclCount; i++)
                {
                    var perms = (Perms)reader.ReadInt32();
                    acl[i] = new Acl(perms, new Id(reader.ReadString(), reader.ReadString()));
                }

                var czxid = reader.ReadInt64();
                var mzxid = reader.ReadInt64();
                var pzxid = reader.ReadInt64();
                var ctime = reader.ReadInt64();
                var mtime = reader.ReadInt64();
                var ver = reader.ReadInt32();
                var cversion = reader.ReadInt32();
                var aversion = reader.ReadInt32();
                var owner = reader.ReadInt64();
                var stat = new Stat(czxid, mzxid, ctime, mtime, ver, cversion, aversion, owner, data.Length, 0, pzxid);
                onNode(new Node(path, data, acl, stat, owner));
                count++;
            }
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException("snapshot body: ends early", ex);
        }
    }

    /// <summary>Loads a body into a fresh tree (sessions, nodes, last zxid = <paramref name="zxid"/>).</summary>
    public static ZnodeTree Load(Stream stream, long zxid, bool extendedTypesEnabled = true)
    {
        var tree = new ZnodeTree();
        Read(stream, tree.LoadSession, node =>
        {
            var (kind, session, ttl) = EphemeralOwner.Decode(node.RawEphemeralOwner, extendedTypesEnabled);
            tree.LoadNode(node.Path, node.Data, node.Acl, node.Stat, kind, session, ttl);
        });
        tree.SetLastProcessedZxid(zxid);
        return tree;
    }
}
