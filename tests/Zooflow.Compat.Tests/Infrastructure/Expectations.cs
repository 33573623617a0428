namespace Zooflow.Compat.Tests.Infrastructure;

/// <summary>Compares expected "key=value" lines with a client's parsed output and lists every difference.</summary>
public static class Expectations
{
    public static List<string> Compare(string expectedLines, IReadOnlyDictionary<string, string> actual)
    {
        var mismatches = new List<string>();
        foreach (var (key, value) in ClientOutput.Parse(expectedLines))
        {
            if (!actual.TryGetValue(key, out var got))
            {
                mismatches.Add($"{key}: expected '{value}', missing");
            }
            else if (got != value)
            {
                mismatches.Add($"{key}: expected '{value}', actual '{got}'");
            }
        }

        return mismatches;
    }
}
