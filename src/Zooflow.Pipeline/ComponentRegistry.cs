using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Pipeline;

/// <summary>
/// The component types the agent can build, looked up by kind and by the <c>type</c> string of a configuration.
/// Lookup is case-insensitive and accepts the Flume alias (<c>memory</c>, <c>netcat</c>), the Java fully-qualified
/// class names Flume configurations use (<c>org.apache.flume.channel.MemoryChannel</c>) and friendly aliases.
/// </summary>
/// <remarks>Built once at start-up and then read-only; reading is thread-safe.</remarks>
public sealed class ComponentRegistry
{
    private readonly Dictionary<(ComponentKind Kind, string Name), ComponentType> _byName = new(KindNameComparer.Instance);
    private readonly List<ComponentType> _types = [];

    /// <summary>Creates a registry holding <paramref name="types"/>.</summary>
    public ComponentRegistry(IEnumerable<ComponentType> types)
    {
        foreach (var type in types)
        {
            Add(type);
        }
    }

    /// <summary>A registry with the core types of this library (memory channel, interceptors) plus <paramref name="extra"/>
    /// (typically <c>Zooflow.Pipeline.Components.BuiltInComponents.All()</c>).</summary>
    public static ComponentRegistry CreateDefault(IEnumerable<ComponentType>? extra = null) =>
        new(extra is null ? CoreComponents.All() : CoreComponents.All().Concat(extra));

    /// <summary>Every registered type in registration order.</summary>
    public IReadOnlyList<ComponentType> Types => _types;

    /// <summary>Registers <paramref name="type"/>; a name already taken for the same kind is a programming error.</summary>
    public void Add(ComponentType type)
    {
        ArgumentNullException.ThrowIfNull(type);
        foreach (var name in type.Aliases.Prepend(type.Alias))
        {
            if (_byName.TryGetValue((type.Kind, name), out var existing) && !ReferenceEquals(existing, type))
            {
                throw new ArgumentException($"{type.Kind} type name '{name}' of '{type.Alias}' is already registered by '{existing.Alias}'", nameof(type));
            }
        }
        foreach (var name in type.Aliases.Prepend(type.Alias))
        {
            _byName[(type.Kind, name)] = type;
        }
        _types.Add(type);
    }

    /// <summary>Finds the type named <paramref name="typeName"/> (alias, Java class name or friendly alias, any case).</summary>
    public bool TryResolve(ComponentKind kind, string typeName, out ComponentType type) =>
        _byName.TryGetValue((kind, typeName.Trim()), out type!);

    /// <summary>The Flume aliases of every type of <paramref name="kind"/>, for "allowed: ..." messages.</summary>
    public IReadOnlyList<string> AllowedNames(ComponentKind kind)
    {
        var names = new List<string>();
        foreach (var type in _types)
        {
            if (type.Kind == kind)
            {
                names.Add(type.Alias);
            }
        }
        return names;
    }

    private sealed class KindNameComparer : IEqualityComparer<(ComponentKind Kind, string Name)>
    {
        public static readonly KindNameComparer Instance = new();

        public bool Equals((ComponentKind Kind, string Name) x, (ComponentKind Kind, string Name) y) =>
            x.Kind == y.Kind && string.Equals(x.Name, y.Name, StringComparison.OrdinalIgnoreCase);

        public int GetHashCode((ComponentKind Kind, string Name) obj) =>
            HashCode.Combine(obj.Kind, StringComparer.OrdinalIgnoreCase.GetHashCode(obj.Name));
    }
}
