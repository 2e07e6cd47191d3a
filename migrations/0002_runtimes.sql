CREATE TABLE `runtimes` (
	`user_id` integer PRIMARY KEY NOT NULL,
	`state` text DEFAULT 'absent' NOT NULL,
	`image` text,
	`previous_image` text,
	`container_id` text,
	`subnet_index` integer,
	`token_hash` text,
	`memory_mb` integer,
	`cpus` real,
	`started_at` integer,
	`last_activity_at` integer,
	`error_message` text,
	`error_logs` text,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "runtimes_state_check" CHECK("runtimes"."state" in ('absent', 'creating', 'starting', 'running', 'stopping', 'stopped', 'error'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `runtimes_subnet_index_unique` ON `runtimes` (`subnet_index`);