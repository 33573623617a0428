using DiffPlex.Renderer;

namespace Zooflow.Agent.Configuration;

/// <summary>Unified diffs between configuration texts (<c>zooflow config diff</c>), as <c>diff -u</c> prints them.</summary>
public static class ConfigDiff
{
    /// <summary>Lines of context around each change, as <c>diff -u</c>.</summary>
    public const int ContextLines = 3;

    /// <summary>The unified diff from <paramref name="oldText"/> to <paramref name="newText"/>; empty when they are equal.</summary>
    public static string Unified(string oldText, string newText, string oldLabel, string newLabel)
    {
        if (string.Equals(Normalize(oldText), Normalize(newText), StringComparison.Ordinal))
        {
            return "";
        }
        return UnidiffRenderer.GenerateUnidiff(Normalize(oldText), Normalize(newText), oldLabel, newLabel, ignoreWhitespace: false, ignoreCase: false, ContextLines);
    }

    /// <summary>Line ends as LF, so a file edited on Windows does not differ in every line.</summary>
    private static string Normalize(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal);
}
