using System.Security.Cryptography;
using System.Text;
using Zooflow.Jute;

namespace Zooflow.Client;

/// <summary>The <c>digest</c> ACL scheme's helpers (<c>DigestAuthenticationProvider</c>).</summary>
public static class DigestAuth
{
    /// <summary>The auth bytes to pass to <c>addAuth("digest", ...)</c>: UTF-8 of <c>user:password</c>.</summary>
    public static byte[] AuthBytes(string user, string password) => Encoding.UTF8.GetBytes(user + ":" + password);

    /// <summary>The ACL id for <paramref name="user"/>: <c>user:base64(sha1(user:password))</c>.</summary>
    public static string Digest(string user, string password)
    {
        var hash = SHA1.HashData(Encoding.UTF8.GetBytes(user + ":" + password));
        return user + ":" + Convert.ToBase64String(hash);
    }

    /// <summary>An ACL entry granting <paramref name="perms"/> to a digest user.</summary>
    public static Acl Acl(string user, string password, Perms perms = Perms.All) => new(perms, new Id("digest", Digest(user, password)));
}
