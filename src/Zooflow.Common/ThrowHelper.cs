using System.Diagnostics.CodeAnalysis;

namespace Zooflow.Common;

/// <summary>
/// <c>[DoesNotReturn]</c> throw helpers: keeping the <c>throw</c> out of hot methods keeps them small enough to inline, and
/// the attribute keeps nullable flow analysis correct at call sites.
/// </summary>
public static class ThrowHelper
{
    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the parameter, its value and what is allowed.</summary>
    [DoesNotReturn]
    public static void ThrowArgumentOutOfRange(string paramName, object? actualValue, string expectation) =>
        throw new ArgumentOutOfRangeException(paramName, actualValue, $"{paramName} {expectation} (was {actualValue})");

    /// <summary>Throws <see cref="ArgumentException"/> with the given message.</summary>
    [DoesNotReturn]
    public static void ThrowArgument(string paramName, string message) => throw new ArgumentException(message, paramName);

    /// <summary>Throws <see cref="InvalidOperationException"/> with the given message.</summary>
    [DoesNotReturn]
    public static void ThrowInvalidOperation(string message) => throw new InvalidOperationException(message);

    /// <summary>Throws <see cref="InvalidOperationException"/>; typed to return <typeparamref name="T"/> for use in expressions.</summary>
    [DoesNotReturn]
    public static T ThrowInvalidOperation<T>(string message) => throw new InvalidOperationException(message);
}
