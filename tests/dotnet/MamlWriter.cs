using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Reflection;
using System.Text.Json.Nodes;
using System.Xml.Linq;

namespace MeetingMigrationService.Tests;

/// <summary>
/// Writes the module's MAML help from the cmdlet classes (names, parameter sets, types,
/// positions, pipeline input, aliases, defaults, HelpMessage descriptions, ValidateSet values,
/// OutputType) and powershell/docs/help.json (synopsis, description, examples). The committed
/// en-US/MeetingMigrationService.dll-Help.xml must equal its output (see HelpTests).
/// </summary>
internal static class MamlWriter
{
    private static readonly XNamespace Msh = "http://msh";
    private static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
    private static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    private static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";

    public static string Generate(Assembly module, JsonObject texts)
    {
        var cmdlets = module.GetTypes()
            .Select(t => (Type: t, Attr: t.GetCustomAttribute<CmdletAttribute>()))
            .Where(x => x.Attr is not null && !x.Type.IsAbstract)
            .OrderBy(x => $"{x.Attr!.NounName}-{x.Attr.VerbName}", StringComparer.Ordinal)
            .ToList();
        var root = new XElement(Msh + "helpItems", new XAttribute("schema", "maml"),
            cmdlets.Select(c => CommandElement(c.Type, c.Attr!, texts)));
        var doc = new XDocument(new XDeclaration("1.0", "utf-8", null), root);
        return doc.Declaration + "\n" + root.ToString() + "\n";
    }

    private static XElement CommandElement(Type type, CmdletAttribute attr, JsonObject texts)
    {
        string name = $"{attr.VerbName}-{attr.NounName}";
        JsonObject text = texts[name] as JsonObject ?? throw new InvalidOperationException($"help.json has no entry for {name}");
        List<ParamInfo> parameters = Parameters(type);
        bool shouldProcess = attr.SupportsShouldProcess;
        var setNames = parameters.SelectMany(p => p.Sets.Keys).Where(s => s != ParameterAttribute.AllParameterSets).Distinct().ToList();
        if (setNames.Count == 0)
        {
            setNames.Add(ParameterAttribute.AllParameterSets);
        }

        var outputs = type.GetCustomAttributes<OutputTypeAttribute>().SelectMany(o => o.Type).Select(t => t.Name).Distinct().ToList();
        var inputs = parameters.Where(p => p.Sets.Values.Any(a => a.ValueFromPipeline || a.ValueFromPipelineByPropertyName))
            .Select(p => p.Property.PropertyType).Select(t => (Nullable.GetUnderlyingType(t) ?? t).FullName!).Distinct().ToList();
        string origin = text["origin"]?.GetValue<string>() == "ours"
            ? "This cmdlet is an addition of the MeetingMigrationService module."
            : "Compatible with Microsoft's cmdlet of the same name; behaviour is provided by the mms engine.";

        return new XElement(Command + "command",
            new XAttribute(XNamespace.Xmlns + "maml", Maml),
            new XAttribute(XNamespace.Xmlns + "command", Command),
            new XAttribute(XNamespace.Xmlns + "dev", Dev),
            new XElement(Command + "details",
                new XElement(Command + "name", name),
                new XElement(Command + "verb", attr.VerbName),
                new XElement(Command + "noun", attr.NounName),
                Description(text["synopsis"]!.GetValue<string>())),
            Description(text["description"]!.GetValue<string>()),
            new XElement(Command + "syntax",
                setNames.Select(set => new XElement(Command + "syntaxItem",
                    new XElement(Maml + "name", name),
                    parameters.Where(p => p.Sets.ContainsKey(set) || p.Sets.ContainsKey(ParameterAttribute.AllParameterSets))
                        .OrderBy(p => p.PositionIn(set) ?? int.MaxValue).ThenBy(p => p.Name, StringComparer.Ordinal)
                        .Select(p => ParameterElement(p, set, syntax: true)),
                    shouldProcess ? CommonSwitches(syntax: true) : null))),
            new XElement(Command + "parameters",
                parameters.OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => ParameterElement(p, p.Sets.Keys.First(), syntax: false)),
                shouldProcess ? CommonSwitches(syntax: false) : null),
            new XElement(Command + "inputTypes",
                (inputs.Count == 0 ? new List<string> { "None" } : inputs).Select(i => new XElement(Command + "inputType",
                    new XElement(Dev + "type", new XElement(Maml + "name", i)),
                    Description(i == "None" ? "This cmdlet takes no pipeline input." : "Bound from the pipeline to the parameters marked as accepting pipeline input.")))),
            new XElement(Command + "returnValues",
                (outputs.Count == 0 ? new List<string> { "None" } : outputs.Select(o => "MeetingMigrationService." + o).ToList()).Select(o => new XElement(Command + "returnValue",
                    new XElement(Dev + "type", new XElement(Maml + "name", o)),
                    Description(o == "None" ? "This cmdlet writes no objects." : "See the module's format file for the default view.")))),
            new XElement(Maml + "alertSet", new XElement(Maml + "alert",
                Para(origin),
                Para("The store is chosen by Connect-MmsStore, else $env:MMS_STORE, else the per-user default (see Get-Help Connect-MmsStore)."))),
            new XElement(Command + "examples",
                ((JsonArray)text["examples"]!).Select((e, i) => new XElement(Command + "example",
                    new XElement(Maml + "title", $"-------------------------- Example {i + 1} --------------------------"),
                    new XElement(Dev + "code", e!["code"]!.GetValue<string>()),
                    new XElement(Dev + "remarks", Para(e["remarks"]!.GetValue<string>()))))),
            new XElement(Maml + "relatedLinks",
                new XElement(Maml + "navigationLink",
                    new XElement(Maml + "linkText", "Setting up the Meeting Migration Service (MMS)"),
                    new XElement(Maml + "uri", "https://learn.microsoft.com/skypeforbusiness/audio-conferencing-in-office-365/setting-up-the-meeting-migration-service-mms"))));
    }

    private static IEnumerable<XElement> CommonSwitches(bool syntax)
    {
        foreach ((string n, string alias, string d) in new[]
        {
            ("WhatIf", "wi", "Shows what would happen if the cmdlet runs. Nothing is changed."),
            ("Confirm", "cf", "Prompts you for confirmation before running the cmdlet."),
        })
        {
            yield return new XElement(Command + "parameter",
                new XAttribute("required", "false"), new XAttribute("variableLength", "true"), new XAttribute("globbing", "false"),
                new XAttribute("pipelineInput", "False"), new XAttribute("position", "named"), new XAttribute("aliases", alias),
                new XElement(Maml + "name", n),
                Description(d),
                syntax ? null : new XElement(Dev + "type", new XElement(Maml + "name", "System.Management.Automation.SwitchParameter"), new XElement(Maml + "uri")),
                syntax ? null : new XElement(Dev + "defaultValue", "False"));
        }
    }

    private static XElement ParameterElement(ParamInfo p, string set, bool syntax)
    {
        ParameterAttribute a = p.Sets.TryGetValue(set, out ParameterAttribute? s) ? s : p.Sets.Values.First();
        Type t = Nullable.GetUnderlyingType(p.Property.PropertyType) ?? p.Property.PropertyType;
        bool isSwitch = t == typeof(SwitchParameter);
        string pipeline = a.ValueFromPipeline && a.ValueFromPipelineByPropertyName ? "True (ByValue, ByPropertyName)"
            : a.ValueFromPipeline ? "True (ByValue)" : a.ValueFromPipelineByPropertyName ? "True (ByPropertyName)" : "False";
        int? position = p.PositionIn(set);
        string[] values = p.Property.GetCustomAttribute<ValidateSetAttribute>()?.ValidValues.ToArray()
            ?? (t.IsEnum ? Enum.GetNames(t) : Array.Empty<string>());
        var range = p.Property.GetCustomAttribute<ValidateRangeAttribute>();
        string description = a.HelpMessage ?? string.Empty;
        if (range is not null)
        {
            description += $" Range: {range.MinRange} to {range.MaxRange}.";
        }

        if (values.Length > 0)
        {
            description += $" Accepted values: {string.Join(", ", values)}.";
        }

        return new XElement(Command + "parameter",
            new XAttribute("required", a.Mandatory ? "true" : "false"),
            new XAttribute("variableLength", "true"),
            new XAttribute("globbing", "false"),
            new XAttribute("pipelineInput", pipeline),
            new XAttribute("position", position?.ToString() ?? "named"),
            new XAttribute("aliases", p.Aliases.Length == 0 ? "none" : string.Join(", ", p.Aliases)),
            new XElement(Maml + "name", p.Name),
            Description(description.Trim()),
            syntax && values.Length > 0
                ? new XElement(Command + "parameterValueGroup", values.Select(v => new XElement(Command + "parameterValue", new XAttribute("required", "false"), new XAttribute("variableLength", "false"), v)))
                : null,
            isSwitch ? null : new XElement(Command + "parameterValue", new XAttribute("required", "true"), new XAttribute("variableLength", "false"), TypeName(t)),
            new XElement(Dev + "type", new XElement(Maml + "name", t.FullName), new XElement(Maml + "uri")),
            new XElement(Dev + "defaultValue", p.Default));
    }

    private static string TypeName(Type t) => t.IsArray ? t.GetElementType()!.Name + "[]" : t.Name;

    private static XElement Description(string text) => new(Maml + "description", Para(text));

    private static XElement Para(string text) => new(Maml + "para", text);

    private static List<ParamInfo> Parameters(Type type)
    {
        object instance = Activator.CreateInstance(type)!;
        return type.GetProperties()
            .Where(p => p.GetCustomAttributes<ParameterAttribute>().Any())
            .Select(p =>
            {
                object? v = p.GetValue(instance);
                string def = v switch
                {
                    null => "None",
                    SwitchParameter sw => sw.IsPresent ? "True" : "False",
                    string s when s.Length == 0 => "None",
                    Guid g when g == Guid.Empty => "None",
                    IEnumerable e and not string => "None",
                    bool b => b ? "True" : "False",
                    uint u when u == 0 => "None",
                    _ => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) ?? "None",
                };
                return new ParamInfo(
                    p,
                    p.GetCustomAttributes<ParameterAttribute>().ToDictionary(a => a.ParameterSetName),
                    p.GetCustomAttribute<AliasAttribute>()?.AliasNames.ToArray() ?? Array.Empty<string>(),
                    p.Name == "Identity" && type.Name.StartsWith("Set", StringComparison.Ordinal) && p.PropertyType == typeof(string) && type.Name.Contains("Tenant", StringComparison.Ordinal) ? "Global" : def);
            })
            .ToList();
    }

    private sealed record ParamInfo(PropertyInfo Property, Dictionary<string, ParameterAttribute> Sets, string[] Aliases, string Default)
    {
        public string Name => Property.Name;

        public int? PositionIn(string set)
        {
            ParameterAttribute? a = Sets.TryGetValue(set, out var s) ? s : Sets.TryGetValue(ParameterAttribute.AllParameterSets, out var all) ? all : null;
            return a is null || a.Position == int.MinValue ? null : a.Position;
        }
    }
}
