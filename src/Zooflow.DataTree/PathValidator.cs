namespace Zooflow.DataTree;

/// <summary>
/// ZooKeeper's znode path rules (<c>org.apache.zookeeper.common.PathUtils.validatePath</c>): a path starts with '/',
/// does not end with '/' (except the root itself), has no empty segments, no "." or ".." segments, and none of the
/// forbidden characters \u0000, \u0001-\u001f, \u007f-\u009f, \ud800-\uf8ff, \ufff0-\uffff.
/// </summary>
/// <remarks>Pure functions; thread-safe. The server answers an invalid path with <see cref="Jute.ErrorCode.BadArguments"/>.</remarks>
public static class PathValidator
{
    /// <summary>Returns null when <paramref name="path"/> is valid, otherwise the reason (ZooKeeper's wording).</summary>
    public static string? Validate(string? path)
    {
        if (path is null)
        {
            return "Path cannot be null";
        }

        if (path.Length == 0)
        {
            return "Path length must be > 0";
        }

        if (path[0] != '/')
        {
            return "Path must start with / character";
        }

        if (path.Length == 1)
        {
            return null;
        }

        if (path[^1] == '/')
        {
            return "Path must not end with / character";
        }

        char last = '/';
        for (int i = 1; i < path.Length; last = path[i], i++)
        {
            char c = path[i];
            if (c == '\0')
            {
                return $"null character not allowed @{i}";
            }

            if (c == '/' && last == '/')
            {
                return $"empty node name specified @{i}";
            }

            if (c == '.' && last == '.')
            {
                if (path[i - 2] == '/' && (i + 1 == path.Length || path[i + 1] == '/'))
                {
                    return $"relative paths not allowed @{i}";
                }
            }
            else if (c == '.')
            {
                if (path[i - 1] == '/' && (i + 1 == path.Length || path[i + 1] == '/'))
                {
                    return $"relative paths not allowed @{i}";
                }
            }
            else if ((c > '\u0000' && c <= '\u001f') || (c >= '\u007f' && c <= '\u009f')
                     || (c >= '\ud800' && c <= '\uf8ff') || (c >= '\ufff0' && c <= '\uffff'))
            {
                return $"invalid character @{i}";
            }
        }

        return null;
    }

    /// <summary>True when <paramref name="path"/> is a valid znode path.</summary>
    public static bool IsValid(string? path) => Validate(path) is null;

    /// <summary>
    /// The client-side rule for a sequential create (<c>PathUtils.validatePath(path, true)</c>): the path is checked as if a
    /// digit were appended, so "/a/" is a valid sequential prefix. The server itself only validates the final name.
    /// </summary>
    public static bool IsValidSequentialPrefix(string? path) => path is not null && Validate(path + "1") is null;

    /// <summary>The parent of a valid non-root path ("/a" → "/", "/a/b" → "/a").</summary>
    public static string ParentOf(string path)
    {
        int slash = path.LastIndexOf('/');
        return slash <= 0 ? "/" : path[..slash];
    }

    /// <summary>The last segment of a path ("/a/b" → "b").</summary>
    public static string NameOf(string path) => path[(path.LastIndexOf('/') + 1)..];
}
