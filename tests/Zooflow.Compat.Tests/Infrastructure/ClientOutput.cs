namespace Zooflow.Compat.Tests.Infrastructure;

/// <summary>Parses the "key=value" lines the client scripts print.</summary>
public static class ClientOutput
{
    public static Dictionary<string, string> Parse(string stdout)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in stdout.Split('\n'))
        {
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0 && !line.StartsWith(' ') && !line.StartsWith('#'))
            {
                result[line[..eq]] = line[(eq + 1)..].TrimEnd('\r');
            }
        }

        return result;
    }
}
