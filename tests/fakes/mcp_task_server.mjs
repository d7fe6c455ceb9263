// A stdio MCP server with task tools, on the TypeScript SDK the everything server
// installs (tests/node/node_modules): `steps` reports progress with the call's progress
// token while its task works, then completes; `doomed` fails its task with an error
// result; `misshapen` completes with structured content its output schema rejects.
// Its tasks ask to be polled every 50 ms.
const sdk = new URL("../node/node_modules/@modelcontextprotocol/sdk/dist/esm/", import.meta.url);
const { McpServer } = await import(new URL("server/mcp.js", sdk));
const { StdioServerTransport } = await import(new URL("server/stdio.js", sdk));
const { InMemoryTaskStore, InMemoryTaskMessageQueue } = await import(
  new URL("experimental/tasks/index.js", sdk)
);

const server = new McpServer(
  { name: "tasks", version: "1.0.0" },
  {
    capabilities: {
      tools: {},
      tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } },
    },
    taskStore: new InMemoryTaskStore(),
    taskMessageQueue: new InMemoryTaskMessageQueue(),
  },
);

const { z } = await import(new URL("../node/node_modules/zod/index.js", import.meta.url));
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function taskTool(name, description, work, outputSchema) {
  server.experimental.tasks.registerToolTask(
    name,
    { description, outputSchema, execution: { taskSupport: "required" } },
    {
      createTask: async (extra) => {
        const task = await extra.taskStore.createTask({ ttl: 60000, pollInterval: 50 });
        work(task.taskId, extra).catch((error) => console.error(error));
        return { task };
      },
      getTask: async (extra) => extra.taskStore.getTask(extra.taskId),
      getTaskResult: async (extra) => extra.taskStore.getTaskResult(extra.taskId),
    },
  );
}

taskTool("steps", "Three steps, with progress.", async (taskId, extra) => {
  const token = extra._meta?.progressToken;
  for (let step = 1; step <= 3; step++) {
    await pause(30);
    if (token !== undefined) {
      await extra.sendNotification({
        method: "notifications/progress",
        params: { progressToken: token, progress: step, total: 3, message: `step ${step}` },
      });
    }
    await extra.taskStore.updateTaskStatus(taskId, "working", `step ${step} done`);
  }
  await extra.taskStore.storeTaskResult(taskId, "completed", {
    content: [{ type: "text", text: "3 steps done" }],
  });
});

taskTool("doomed", "Fails.", async (taskId, extra) => {
  await pause(30);
  await extra.taskStore.storeTaskResult(taskId, "failed", {
    content: [{ type: "text", text: "the flux capacitor broke" }],
    isError: true,
  });
});

taskTool(
  "misshapen",
  "Returns structured content its output schema does not allow.",
  async (taskId, extra) => {
    await extra.taskStore.storeTaskResult(taskId, "completed", {
      content: [{ type: "text", text: "{}" }],
      structuredContent: { count: "many" },
    });
  },
  { count: z.number() },
);

await server.connect(new StdioServerTransport());
// The task store's TTL timers would keep Node alive after the client closes stdin.
process.stdin.on("end", () => process.exit(0));
