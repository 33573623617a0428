using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Zooflow.Jute;

namespace Zooflow.DataTree;

/// <summary>
/// ZooKeeper's permission check (<c>ZooKeeperServer.checkACL</c>): an empty ACL allows everything, an identity with the
/// <c>super</c> scheme allows everything, otherwise some entry granting the permission must be <c>world:anyone</c>
/// or match one of the session's identities through its scheme's provider (digest: equal ids; ip: address or CIDR).
/// </summary>
/// <remarks>Pure and thread-safe. Schemes without a provider here (anything but world, digest, ip) never match.</remarks>
public static class AclChecker
{
    /// <summary>True when a session holding <paramref name="authIds"/> may do <paramref name="perm"/> on a node with <paramref name="acl"/>.</summary>
    public static bool Check(IReadOnlyList<Acl>? acl, Perms perm, IReadOnlyList<Id> authIds)
    {
        if (acl is null || acl.Count == 0)
        {
            return true;
        }

        for (int i = 0; i < authIds.Count; i++)
        {
            if (authIds[i].Scheme == "super")
            {
                return true;
            }
        }

        for (int i = 0; i < acl.Count; i++)
        {
            Acl a = acl[i];
            if ((a.Perms & perm) == 0)
            {
                continue;
            }

            if (a.Id.Scheme == "world" && a.Id.Ident == "anyone")
            {
                return true;
            }

            for (int j = 0; j < authIds.Count; j++)
            {
                Id auth = authIds[j];
                if (auth.Scheme != a.Id.Scheme)
                {
                    continue;
                }

                bool match = a.Id.Scheme switch
                {
                    DigestAuthenticationProvider.Scheme => DigestAuthenticationProvider.Matches(auth.Ident, a.Id.Ident),
                    IpAuthenticationProvider.Scheme => IpAuthenticationProvider.Matches(auth.Ident, a.Id.Ident),
                    _ => false,
                };
                if (match)
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>
    /// Validates and expands the ACL of a create or setACL request (<c>PrepRequestProcessor.fixupACL</c>): duplicates are
    /// dropped; an empty list, <c>world</c> with an id other than <c>anyone</c>, an unknown scheme or an invalid id is
    /// <see cref="ErrorCode.InvalidAcl"/>; <c>auth</c> expands to every authenticated identity of the session (digest ids,
    /// not ip ids) and is <see cref="ErrorCode.InvalidAcl"/> when there is none.
    /// </summary>
    public static ErrorCode FixupAcl(IReadOnlyList<Acl>? acl, IReadOnlyList<Id> authIds, out IReadOnlyList<Acl> fixedAcl)
    {
        fixedAcl = [];
        if (acl is null || acl.Count == 0)
        {
            return ErrorCode.InvalidAcl;
        }

        // The common case, OPEN_ACL_UNSAFE: answer with the shared list (no copies; the tree stores it as is).
        if (acl.Count == 1 && Equals(acl[0], Jute.Acl.OpenAclUnsafe[0]))
        {
            fixedAcl = Jute.Acl.OpenAclUnsafe;
            return ErrorCode.Ok;
        }

        var unique = new List<Acl>(acl.Count);
        foreach (Acl a in acl)
        {
            if (a is null || a.Id is null || a.Id.Scheme is null)
            {
                return ErrorCode.InvalidAcl;
            }

            if (!unique.Contains(a))
            {
                unique.Add(a);
            }
        }

        var result = new List<Acl>(unique.Count);
        foreach (Acl a in unique)
        {
            Id id = a.Id;
            if (id.Scheme == "world" && id.Ident == "anyone")
            {
                result.Add(a);
            }
            else if (id.Scheme == "auth")
            {
                bool any = false;
                foreach (Id cid in authIds)
                {
                    // Only providers that "authenticate" count: digest does, ip does not (IPAuthenticationProvider.isAuthenticated).
                    if (cid.Scheme == DigestAuthenticationProvider.Scheme)
                    {
                        any = true;
                        result.Add(new Acl(a.Perms, cid));
                    }
                }

                if (!any)
                {
                    return ErrorCode.InvalidAcl;
                }
            }
            else if (id.Scheme == DigestAuthenticationProvider.Scheme)
            {
                if (!DigestAuthenticationProvider.IsValid(id.Ident ?? ""))
                {
                    return ErrorCode.InvalidAcl;
                }

                result.Add(a);
            }
            else if (id.Scheme == IpAuthenticationProvider.Scheme)
            {
                if (!IpAuthenticationProvider.IsValid(id.Ident ?? ""))
                {
                    return ErrorCode.InvalidAcl;
                }

                result.Add(a);
            }
            else
            {
                return ErrorCode.InvalidAcl;
            }
        }

        fixedAcl = result;
        return ErrorCode.Ok;
    }
}

/// <summary>
/// The <c>digest</c> scheme: the id is <c>user:base64(sha1("user:password"))</c>; a session proves it with
/// <c>addauth digest user:password</c> (<c>DigestAuthenticationProvider</c>).
/// </summary>
public static class DigestAuthenticationProvider
{
    /// <summary>The scheme name.</summary>
    public const string Scheme = "digest";

    /// <summary>The digest id for a user and password: <c>user:base64(sha1("user:password"))</c>.</summary>
    public static string Generate(string user, string password) => GenerateDigest(user + ":" + password);

    /// <summary>The digest id for <c>user:password</c> text (ZooKeeper's <c>generateDigest</c>; the user is the part before the first ':').</summary>
    public static string GenerateDigest(string idPassword)
    {
        int colon = idPassword.IndexOf(':', StringComparison.Ordinal);
        string user = colon < 0 ? idPassword : idPassword[..colon];
        byte[] hash = SHA1.HashData(Encoding.UTF8.GetBytes(idPassword));
        return user + ":" + Convert.ToBase64String(hash);
    }

    /// <summary>
    /// Handles <c>addauth digest</c>: returns the identities to add to the session — the digest id, preceded by
    /// <c>super:</c> when it equals <paramref name="superDigest"/> (ZooKeeper's <c>zookeeper.DigestAuthenticationProvider.superDigest</c>).
    /// </summary>
    public static IReadOnlyList<Id> Authenticate(ReadOnlySpan<byte> authData, string? superDigest)
    {
        string digest = GenerateDigest(Encoding.UTF8.GetString(authData));
        return superDigest is not null && digest == superDigest
            ? [new Id("super", ""), new Id(Scheme, digest)]
            : [new Id(Scheme, digest)];
    }

    /// <summary>ZooKeeper's <c>isValid</c>: Java's <c>id.split(":").length == 2</c> (trailing empty parts dropped).</summary>
    public static bool IsValid(string id)
    {
        string[] parts = id.Split(':');
        int n = parts.Length;
        while (n > 0 && parts[n - 1].Length == 0)
        {
            n--;
        }

        return n == 2;
    }

    /// <summary>A session's digest id matches an ACL id when they are equal.</summary>
    public static bool Matches(string id, string aclExpr) => string.Equals(id, aclExpr, StringComparison.Ordinal);

    /// <summary>The user part of a digest id (for whoAmI).</summary>
    public static string UserOf(string id)
    {
        int colon = id.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? id : id[..colon];
    }
}

/// <summary>
/// The <c>ip</c> scheme: an ACL id is an address or <c>address/bits</c>; a session's id is its client address
/// (<c>IPAuthenticationProvider</c>). ZooKeeper 3.8 parses IPv4 only; Zooflow also accepts IPv6 ACL ids and client
/// addresses (an extension: ZooKeeper rejects such ACLs as invalid). IPv4-mapped IPv6 client addresses match IPv4 ACLs.
/// </summary>
public static class IpAuthenticationProvider
{
    /// <summary>The scheme name.</summary>
    public const string Scheme = "ip";

    /// <summary>True when <paramref name="aclExpr"/> is a valid address or CIDR.</summary>
    public static bool IsValid(string aclExpr)
    {
        string[] parts = aclExpr.Split('/', 2);
        byte[]? addr = AddrToBytes(parts[0]);
        if (addr is null)
        {
            return false;
        }

        return parts.Length == 1 || (TryParseJavaInt(parts[1], out int bits) && bits >= 0 && bits <= addr.Length * 8);
    }

    /// <summary>True when the client address <paramref name="id"/> lies in <paramref name="aclExpr"/>.</summary>
    public static bool Matches(string id, string aclExpr)
    {
        string[] parts = aclExpr.Split('/', 2);
        byte[]? aclAddr = AddrToBytes(parts[0]);
        if (aclAddr is null)
        {
            return false;
        }

        int bits = aclAddr.Length * 8;
        if (parts.Length == 2 && (!TryParseJavaInt(parts[1], out bits) || bits < 0 || bits > aclAddr.Length * 8))
        {
            return false;
        }

        byte[]? remote = AddrToBytes(id);
        if (remote is null || remote.Length != aclAddr.Length)
        {
            return false;
        }

        Mask(aclAddr, bits);
        Mask(remote, bits);
        return aclAddr.AsSpan().SequenceEqual(remote);
    }

    private static void Mask(byte[] b, int bits)
    {
        int start = bits / 8;
        int startMask = (1 << (8 - (bits % 8))) - 1;
        startMask = ~startMask;
        while (start < b.Length)
        {
            b[start] &= (byte)startMask;
            startMask = 0;
            start++;
        }
    }

    private static byte[]? AddrToBytes(string addr)
    {
        if (addr.Contains(':', StringComparison.Ordinal))
        {
            string bare = addr.Trim('[', ']');
            int zone = bare.IndexOf('%', StringComparison.Ordinal);
            if (zone >= 0)
            {
                bare = bare[..zone];
            }

            if (IPAddress.TryParse(bare, out IPAddress? ip) && ip.AddressFamily == AddressFamily.InterNetworkV6)
            {
                return ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4().GetAddressBytes() : ip.GetAddressBytes();
            }

            return null;
        }

        string[] parts = addr.Split('.');
        if (parts.Length != 4)
        {
            return null;
        }

        var b = new byte[4];
        for (int i = 0; i < 4; i++)
        {
            if (!TryParseJavaInt(parts[i], out int v) || v < 0 || v > 255)
            {
                return null;
            }

            b[i] = (byte)v;
        }

        return b;
    }

    // Integer.parseInt: optional sign, decimal digits only.
    private static bool TryParseJavaInt(string s, out int value) =>
        int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
}
