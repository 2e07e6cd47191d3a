CREATE TABLE `model_grants` (
	`model_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	PRIMARY KEY(`model_id`, `user_id`),
	FOREIGN KEY (`model_id`) REFERENCES `models`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `model_grants_user_idx` ON `model_grants` (`user_id`);--> statement-breakpoint
CREATE TABLE `model_providers` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`kind` text NOT NULL,
	`base_url` text,
	`key_hint` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `model_providers_name_idx` ON `model_providers` (`name`);--> statement-breakpoint
CREATE TABLE `models` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`provider_id` integer NOT NULL,
	`upstream_model` text NOT NULL,
	`context_window` integer NOT NULL,
	`max_tokens` integer NOT NULL,
	`input_price_per_mtok` real,
	`output_price_per_mtok` real,
	`enabled` integer NOT NULL,
	`is_default` integer NOT NULL,
	`access` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`provider_id`) REFERENCES `model_providers`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `models_name_idx` ON `models` (`name`);--> statement-breakpoint
CREATE INDEX `models_provider_idx` ON `models` (`provider_id`);--> statement-breakpoint
CREATE TABLE `user_model_limits` (
	`user_id` integer PRIMARY KEY NOT NULL,
	`daily_tokens` integer,
	`monthly_tokens` integer,
	`daily_cost_usd` real,
	`monthly_cost_usd` real,
	`requests_per_minute` integer,
	`concurrent_requests` integer,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
