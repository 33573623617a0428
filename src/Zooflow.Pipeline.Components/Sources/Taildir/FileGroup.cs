using System.Text.RegularExpressions;
using Zooflow.Pipeline.Components.Sources.Files;

namespace Zooflow.Pipeline.Components.Sources.Taildir;

/// <summary>
/// One taildir file group (<c>filegroups.&lt;name&gt; = /dir/regex</c>): the files directly in <see cref="Directory"/>
/// whose name matches <see cref="Pattern"/> in full (Java's <c>Matcher.matches</c>), plus the headers its events get.
/// </summary>
/// <remarks>
/// The listing is cached until the directory changes (Flume's <c>cachePatternMatching</c>): creating, deleting or renaming
/// an entry updates the directory's mtime. File system timestamps come from a coarse clock, so a change within the same
/// tick as a listing could keep the same mtime; like Flume, the directory is listed again on every call until the
/// listing was taken at least <see cref="MtimeSettleNs"/> after the mtime it saw. Not thread-safe: one reader loop uses it.
/// </remarks>
internal sealed class FileGroup
{
    /// <summary>How long after a directory's mtime a listing must have been taken to be trusted (1 s, Flume's rule for
    /// second-granularity timestamps; generous for Linux's jiffy-granular ones).</summary>
    internal const long MtimeSettleNs = 1_000_000_000;

    private readonly bool _cache;
    private long _listedDirMtimeNs = long.MinValue;
    private long _listedAtNs = long.MinValue;
    private List<string> _matches = [];

    public FileGroup(string name, string directory, Regex pattern, IReadOnlyDictionary<string, string> headers, bool cachePatternMatching)
    {
        Name = name;
        Directory = directory;
        Pattern = pattern;
        Headers = headers;
        _cache = cachePatternMatching;
    }

    /// <summary>The group's name in the configuration.</summary>
    public string Name { get; }

    /// <summary>The directory, absolute.</summary>
    public string Directory { get; }

    /// <summary>The file-name pattern, anchored at both ends.</summary>
    public Regex Pattern { get; }

    /// <summary><c>headers.&lt;group&gt;.*</c>.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; }

    /// <summary>The inode of each matching path as of the last fresh listing (kept by the reader); valid while the
    /// directory is unchanged.</summary>
    public IReadOnlyDictionary<string, FileKey>? Keys { get; set; }

    /// <summary>Whether the last <see cref="List"/> call listed the directory (false: served from the cache).</summary>
    public bool LastListingFresh { get; private set; }

    /// <summary>The absolute paths of the matching files, listed again only when the directory changed.
    /// A directory that cannot be read yields no files (the caller logs); it is tried again next time.</summary>
    public IReadOnlyList<string> List(long nowNs)
    {
        LastListingFresh = false;
        FileStatus? dir;
        try
        {
            dir = FileStatus.TryGet(Directory);
        }
        catch (IOException)
        {
            dir = null;
        }
        if (dir is null)
        {
            _matches = [];
            _listedDirMtimeNs = long.MinValue;
            return _matches;
        }
        var mtime = dir.Value.ModifiedNs;
        if (_cache && mtime == _listedDirMtimeNs && _listedAtNs - mtime >= MtimeSettleNs)
        {
            return _matches;
        }
        var matches = new List<string>();
        foreach (var path in System.IO.Directory.EnumerateFiles(Directory))
        {
            if (Pattern.IsMatch(Path.GetFileName(path)))
            {
                matches.Add(path);
            }
        }
        _matches = matches;
        _listedDirMtimeNs = mtime;
        _listedAtNs = nowNs;
        LastListingFresh = true;
        return _matches;
    }

    /// <summary>Compiles a Flume file-name regex with Java's <c>matches()</c> semantics (the whole name must match).</summary>
    public static Regex CompileNamePattern(string regex) =>
        new(@"\A(?:" + regex + @")\z", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
}
