"""YAML read with its line numbers kept, so a problem found later (by pydantic, say) can
name the line of the field it is about; and read within ``parse_limits``' bounds (depth,
values with aliases expanded), so no file can stop or swamp the program."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness_tui.core.files.parse_limits import (
    MAX_DEPTH,
    MAX_NODES,
    ParseLimitError,
    check_yaml_shape,
    too_deep,
    unreadable_value,
)


class YamlError(ValueError):
    """Text that is not valid YAML; the message names the line."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class YamlLimitError(YamlError):
    """YAML refused for its shape (``parse_limits``): too deep, too many values."""


@dataclass(frozen=True)
class YamlDocument:
    """Parsed data plus the node tree it came from (for line numbers)."""

    data: Any
    root: Any  # yaml.Node | None

    def line_of(self, location: Sequence[str | int], *, offset: int = 0) -> int | None:
        """The 1-based line of the value at ``location`` (keys and list indexes), or of
        the nearest enclosing value that exists; None for an empty document."""
        import yaml

        node = self.root
        if node is None:
            return None
        found = node
        for step in location:
            child = None
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode) and key.value == str(step):
                        child = value
                        break
                # A mapping read as a list (``{name: {...}}`` -> ``[{name, ...}]``).
                if child is None and isinstance(step, int) and 0 <= step < len(node.value):
                    child = node.value[step][1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
                if 0 <= step < len(node.value):
                    child = node.value[step]
            if child is None:
                break
            node = found = child
        return found.start_mark.line + 1 + offset


def parse_yaml(
    text: str,
    *,
    line_offset: int = 0,
    max_depth: int = MAX_DEPTH,
    max_nodes: int = MAX_NODES,
) -> YamlDocument:
    """Parse one YAML document; raises ``YamlError`` with the line of the problem.
    ``line_offset`` shifts line numbers (YAML embedded after other lines of a file).
    A document nested deeper than ``max_depth`` or holding more than ``max_nodes`` keys
    and values (aliases counted at each use) is refused before it is built."""
    import yaml

    # libyaml when PyYAML was built with it: several times faster, same nodes and marks.
    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    text = text.removeprefix("\ufeff")
    loader = loader_class(text)
    try:
        # First the event stream (the parser does not recurse; the composer does).
        check_yaml_shape(loader, max_depth=max_depth, max_nodes=max_nodes)
        loader.dispose()
        loader = loader_class(text)
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except ParseLimitError as exc:
        line = exc.line + line_offset if exc.line is not None else None
        raise YamlLimitError(str(ParseLimitError(exc.message, line)), line) from None
    except yaml.MarkedYAMLError as exc:
        if "maximum nesting depth" in str(exc.problem):  # libyaml's own bound (1,000)
            line = exc.problem_mark.line + 1 + line_offset if exc.problem_mark else None
            raise YamlLimitError(str(ParseLimitError(too_deep(max_depth), line)), line) from None
        # The context mark is where the broken construct began; the problem mark is
        # often just the end of the text.
        mark = exc.context_mark or exc.problem_mark
        line = None
        if mark is not None:
            # An error "at the end of the stream" is about the last line there is.
            last = max(1, len(text.splitlines()))
            line = min(mark.line + 1, last) + line_offset
        where = f"line {line}: " if line is not None else ""
        context = f" ({exc.context})" if exc.context else ""
        raise YamlError(f"{where}{exc.problem or exc}{context}", line) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"not valid YAML ({exc})") from None
    except (ValueError, TypeError, OverflowError) as exc:
        # A value Python will not build: an integer of over 4,300 digits, month 13.
        raise YamlError(unreadable_value(exc)) from None
    finally:
        loader.dispose()
    return YamlDocument(data, root)
