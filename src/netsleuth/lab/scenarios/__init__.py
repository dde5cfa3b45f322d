"""Lab scenarios, one module per fault family; each class is registered with `@scenario`."""
