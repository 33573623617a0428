global using Zooflow.TestKit.Servers;
