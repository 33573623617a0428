namespace Zooflow.DataTree.Tests;

// PathUtils.validatePath (ZooKeeper 3.8) and the ZooKeeper Programmer's Guide, "ZooKeeper Data Model".
public class PathValidatorTests
{
    [Theory]
    [InlineData("/")]
    [InlineData("/a")]
    [InlineData("/a/b/c")]
    [InlineData("/a.b")]
    [InlineData("/...")]
    [InlineData("/a/.b")]
    [InlineData("/zookeeper")]
    [InlineData("/\u00e9t\u00e9")]
    public void Validate_ValidPath_ReturnsNull(string path) => Assert.Null(PathValidator.Validate(path));

    [Theory]
    [InlineData("")]
    [InlineData("a")]
    [InlineData("/a/")]
    [InlineData("//a")]
    [InlineData("/a//b")]
    [InlineData("/.")]
    [InlineData("/..")]
    [InlineData("/a/./b")]
    [InlineData("/a/../b")]
    [InlineData("/a\u0000b")]
    [InlineData("/a\u0001")]
    [InlineData("/a\u001f")]
    [InlineData("/a\u007f")]
    [InlineData("/a\u009f")]
    [InlineData("/a\ud800")]
    [InlineData("/a\uf8ff")]
    [InlineData("/a\ufff0")]
    [InlineData("/a\uffff")]
    public void Validate_InvalidPath_ReturnsReason(string path) => Assert.NotNull(PathValidator.Validate(path));

    [Fact]
    public void Validate_Null_ReturnsReason() => Assert.NotNull(PathValidator.Validate(null));

    [Theory]
    [InlineData("/a/", true)]   // client-side sequential check appends a digit: "/a/1" is fine
    [InlineData("/a", true)]
    [InlineData("/a//", false)]
    [InlineData("a", false)]
    public void IsValidSequentialPrefix_Cases(string path, bool expected) => Assert.Equal(expected, PathValidator.IsValidSequentialPrefix(path));

    [Theory]
    [InlineData("/a", "/", "a")]
    [InlineData("/a/b", "/a", "b")]
    public void ParentOfAndNameOf_SplitPath(string path, string parent, string name)
    {
        Assert.Equal(parent, PathValidator.ParentOf(path));
        Assert.Equal(name, PathValidator.NameOf(path));
    }
}
